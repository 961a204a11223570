// ttl: a router's TTL step. Valid IPv4 (IHL >= 5, total length within the
// frame, header checksum correct): TTL <= 1 is dropped, else TTL - 1 with the
// checksum updated incrementally (RFC 1624). IPv6: hop limit <= 1 is dropped,
// else - 1. Anything else passes unchanged.
import {
  DROP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, fold16, counter, ipv4TtlStep, l3Of, loadBe16,
  packetAddr, packetLen, setVerdict, sum16,
} from '../sdk';
export * from '../sdk/exports';

/** It walks the Ethernet header itself and reads no meta (ABI v2, docs/abi.md): the chain need not parse for it. */
export function netvm_reads_meta(): i32 {
  return 0;
}

const expired = counter('ttl_expired');
const stepped = counter('ttl_stepped');

// What a step did: nothing (not valid IP), dropped, or stepped.
const UNTOUCHED: u32 = 0;
const EXPIRED: u32 = 1;
const STEPPED: u32 = 2;

function ipv4Step(ip: usize, avail: u32): u32 {
  if (avail < 20) return UNTOUCHED;
  const vihl = load<u8>(ip);
  const hlen = <u32>(vihl & 15) << 2;
  if (vihl >> 4 != 4 || hlen < 20) return UNTOUCHED;
  const total = loadBe16(ip + 2);
  if (total < hlen || total > avail) return UNTOUCHED;
  if (fold16(sum16(ip, hlen)) != 0xffff) return UNTOUCHED;
  const ttl = <u32>load<u8>(ip, 8);
  if (ttl <= 1) return EXPIRED;
  ipv4TtlStep(ip);
  return STEPPED;
}

function ipv6Step(ip: usize, avail: u32): u32 {
  if (avail < 40 || load<u8>(ip) >> 4 != 6) return UNTOUCHED;
  const hops = load<u8>(ip, 7);
  if (hops <= 1) return EXPIRED;
  store<u8>(ip, hops - 1, 7);
  return STEPPED;
}

export function netvm_process(n: i32): void {
  for (let i = 0; i < n; i++) {
    const p = packetAddr(i);
    const len = packetLen(i);
    const l3 = l3Of(p, len);
    const off = l3 >> 16;
    const type = l3 & 0xffff;
    let result = UNTOUCHED;
    if (type == ETHERTYPE_IPV4) result = ipv4Step(p + off, len - off);
    else if (type == ETHERTYPE_IPV6) result = ipv6Step(p + off, len - off);
    if (result == EXPIRED) {
      setVerdict(i, DROP);
      expired.add();
    } else if (result == STEPPED) {
      stepped.add();
    }
  }
}
