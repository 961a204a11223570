//! ttl-rs: nf-modules/ttl in Rust, built with the Rust SDK (nf-modules/sdk-rust):
//! a router's TTL step. Valid IPv4 (IHL >= 5, total length within the frame,
//! header checksum correct): TTL <= 1 is dropped, else TTL - 1 with the
//! checksum updated incrementally (RFC 1624). IPv6: hop limit <= 1 is dropped,
//! else - 1. Anything else passes unchanged. It walks the Ethernet header
//! itself, as ttl does, and reads no meta.
#![no_std]

use netvm::{be16, checksum_update16, put_be16, sum16, Burst, Metric, DROP};

static EXPIRED: Metric = Metric::new();
static STEPPED: Metric = Metric::new();

enum Step {
    Untouched,
    Expired,
    Stepped,
}

fn init() {
    EXPIRED.define_counter("ttl_expired");
    STEPPED.define_counter("ttl_stepped");
}

fn ipv4_step(ip: &mut [u8]) -> Step {
    if ip.len() < 20 {
        return Step::Untouched;
    }
    let hlen = usize::from(ip[0] & 15) << 2;
    if ip[0] >> 4 != 4 || hlen < 20 {
        return Step::Untouched;
    }
    let total = usize::from(be16(ip, 2));
    if total < hlen || total > ip.len() || sum16(&ip[..hlen]) != 0xffff {
        return Step::Untouched;
    }
    if ip[8] <= 1 {
        return Step::Expired;
    }
    let old_word = be16(ip, 8);
    let new_word = old_word.wrapping_sub(0x100);
    put_be16(ip, 8, new_word);
    let checksum = checksum_update16(be16(ip, 10), old_word, new_word);
    put_be16(ip, 10, checksum);
    Step::Stepped
}

fn ipv6_step(ip: &mut [u8]) -> Step {
    if ip.len() < 40 || ip[0] >> 4 != 6 {
        return Step::Untouched;
    }
    if ip[7] <= 1 {
        return Step::Expired;
    }
    ip[7] -= 1;
    Step::Stepped
}

/// The L3 header's offset and ethertype after an 802.1Q tag, or an 802.1ad tag
/// and an 802.1Q tag (as the SDK's l3Of); type 0 when there is none.
fn l3_of(p: &[u8]) -> (usize, u16) {
    if p.len() < 14 {
        return (0, 0);
    }
    let mut off = 12;
    let mut t = be16(p, off);
    if t == 0x88a8 {
        if p.len() < off + 8 {
            return (0, 0);
        }
        off += 4;
        t = be16(p, off);
        if t != 0x8100 {
            return (0, 0);
        }
    }
    if t == 0x8100 {
        if p.len() < off + 6 {
            return (0, 0);
        }
        off += 4;
        t = be16(p, off);
    }
    (off + 2, t)
}

fn process(burst: &mut Burst) {
    for i in 0..burst.len() {
        let p = burst.packet(i);
        let (off, ether_type) = l3_of(p);
        let step = match ether_type {
            0x0800 => ipv4_step(&mut p[off..]),
            0x86dd => ipv6_step(&mut p[off..]),
            _ => Step::Untouched,
        };
        match step {
            Step::Expired => {
                burst.set_verdict(i, DROP);
                EXPIRED.add(1);
            }
            Step::Stepped => STEPPED.add(1),
            Step::Untouched => {}
        }
    }
}

netvm::nf!(init, process, reads_meta = false);
