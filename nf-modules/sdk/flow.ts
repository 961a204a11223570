// Flow keys: a 5-tuple in a fixed 40-byte layout, canonical so that both
// directions of a connection give the same key (and so the same hash).
//   [0, 16)  the lower endpoint's address (IPv4: 4 bytes, then zeros)
//   [16, 32) the higher endpoint's address
//   [32, 34) the lower endpoint's port, [34, 36) the higher's (0 unless TCP/UDP)
//   36 protocol, 37 IP version, [38, 40) zero
// "Lower" compares address bytes, then port.
import { loadBe16 } from './bytes';
import { IPPROTO_TCP, IPPROTO_UDP, META_IP_VERSION, META_L3, META_L4, META_L4_PROTO, Parsed } from './packet';

export const FLOW_KEY_BYTES: u32 = 40;

// Small copies and compares by hand: V8 runs memory.copy/fill/compare as calls,
// slow for a few bytes.
function writeAddr(key: usize, slot: u32, addr: usize, v6: bool): void {
  const at = key + slot * 16;
  if (v6) {
    store<u64>(at, load<u64>(addr));
    store<u64>(at, load<u64>(addr, 8), 8);
  } else {
    store<u64>(at, <u64>load<u32>(addr));
    store<u64>(at, 0, 8);
  }
}

/** Compares two addresses as big-endian numbers: <0, 0, >0. */
function compareAddr(a: usize, b: usize, v6: bool): i32 {
  if (!v6) {
    const x = bswap<u32>(load<u32>(a));
    const y = bswap<u32>(load<u32>(b));
    return x < y ? -1 : x > y ? 1 : 0;
  }
  let x = bswap<u64>(load<u64>(a));
  let y = bswap<u64>(load<u64>(b));
  if (x == y) {
    x = bswap<u64>(load<u64>(a, 8));
    y = bswap<u64>(load<u64>(b, 8));
  }
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Writes p's canonical flow key at key (FLOW_KEY_BYTES); p must be IP.
 *  Returns true when p goes from the higher endpoint to the lower one, so
 *  that an NF can tell the two directions of one flow apart. Inline: called,
 *  it cost its callers' loops their registers (V8 saves none across a call),
 *  and the hash that follows could not start on the key's words until the call
 *  returned. */
@inline export function flowKey(p: Parsed, key: usize): bool {
  // The parse's fields read once each, into locals (V8 reloads a Parsed getter's fields at every use).
  const addr = p.addr;
  const meta = p.meta;
  const version = load<u8>(meta, META_IP_VERSION);
  const proto = load<u8>(meta, META_L4_PROTO);
  const v6 = version == 6;
  const ip = addr + <usize>load<u16>(meta, META_L3);
  const src = ip + (v6 ? 8 : 12);
  const dst = ip + (v6 ? 24 : 16);
  const l4 = <usize>load<u16>(meta, META_L4);
  const ported = l4 != 0 && (proto == IPPROTO_TCP || proto == IPPROTO_UDP);
  const sport: u16 = ported ? <u16>loadBe16(addr + l4) : 0;
  const dport: u16 = ported ? <u16>loadBe16(addr + l4 + 2) : 0;
  let order = compareAddr(src, dst, v6);
  if (order == 0) order = <i32>sport - <i32>dport;
  const reverse = order > 0;
  writeAddr(key, reverse ? 1 : 0, src, v6);
  writeAddr(key, reverse ? 0 : 1, dst, v6);
  // The ports, protocol and version in one store, as the word a hash loads next: a
  // load over several smaller stores waits for them to reach the cache (no forwarding).
  const lowPort = reverse ? dport : sport;
  const highPort = reverse ? sport : dport;
  store<u64>(key, <u64>lowPort | <u64>highPort << 16 | <u64>proto << 32 | <u64>version << 40, 32);
  return reverse;
}

/** A 32-bit hash of a 40-byte key (five u64 words, multiply-xorshift). */
export function flowHash(key: usize): u32 {
  // The five rounds written out: V8 kept the loop, with a stack check a turn.
  let h: u64 = 0x9e3779b97f4a7c15;
  h = flowHashRound(h, load<u64>(key));
  h = flowHashRound(h, load<u64>(key, 8));
  h = flowHashRound(h, load<u64>(key, 16));
  h = flowHashRound(h, load<u64>(key, 24));
  h = flowHashRound(h, load<u64>(key, 32));
  h *= 0x94d049bb133111eb;
  return <u32>(h ^ (h >> 32));
}

@inline function flowHashRound(h: u64, word: u64): u64 {
  h = (h ^ word) * 0xbf58476d1ce4e5b9;
  return h ^ (h >> 31);
}
