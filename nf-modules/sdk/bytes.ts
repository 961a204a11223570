// Network-order loads and stores, and the Internet checksum (RFC 1071, 1624).

@inline export function loadBe16(addr: usize): u32 {
  return <u32>bswap<u16>(load<u16>(addr));
}

@inline export function storeBe16(addr: usize, value: u32): void {
  store<u16>(addr, bswap<u16>(<u16>value));
}

/** Ones'-complement sum of len bytes (len even) as 16-bit network-order
 *  words, folded to 16 bits, not inverted. The sum does not depend on byte
 *  order (RFC 1071 2.B), so it adds 64 bits at a time in the machine's order
 *  and swaps once at the end. */
export function sum16(addr: usize, len: u32): u32 {
  let sum: u64 = 0;
  let i: u32 = 0;
  if (len == 20) {
    // An IPv4 header without options, the common case: three loads, no loop.
    const a = load<u64>(addr);
    const b = load<u64>(addr, 8);
    sum = (a & 0xffffffff) + (a >> 32) + (b & 0xffffffff) + (b >> 32) + <u64>load<u32>(addr, 16);
    i = 20;
  }
  for (; i + 8 <= len; i += 8) {
    const w = load<u64>(addr + i);
    sum += (w & 0xffffffff) + (w >> 32);
  }
  for (; i + 2 <= len; i += 2) sum += <u64>load<u16>(addr + i);
  sum = (sum & 0xffffffff) + (sum >> 32);
  let s = <u32>sum + <u32>(sum >> 32);
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  return <u32>bswap<u16>(<u16>s);
}

@inline export function fold16(sum: u32): u32 {
  sum = (sum & 0xffff) + (sum >> 16);
  return (sum & 0xffff) + (sum >> 16);
}

/** RFC 1624 eqn. 3: the checksum after one 16-bit word changes from old to new. */
@inline export function checksumUpdate16(checksum: u32, oldWord: u32, newWord: u32): u32 {
  return ~fold16((~checksum & 0xffff) + (~oldWord & 0xffff) + newWord) & 0xffff;
}
