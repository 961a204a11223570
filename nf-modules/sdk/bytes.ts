// Network-order loads and stores, and the Internet checksum (RFC 1071, 1624).

@inline export function loadBe16(addr: usize): u32 {
  return <u32>bswap<u16>(load<u16>(addr));
}

@inline export function storeBe16(addr: usize, value: u32): void {
  store<u16>(addr, bswap<u16>(<u16>value));
}

/** Ones'-complement sum of len bytes (len even), not folded, not inverted. */
export function sum16(addr: usize, len: u32): u32 {
  let sum: u32 = 0;
  for (let i: u32 = 0; i < len; i += 2) sum += loadBe16(addr + i);
  return sum;
}

@inline export function fold16(sum: u32): u32 {
  sum = (sum & 0xffff) + (sum >> 16);
  return (sum & 0xffff) + (sum >> 16);
}

/** RFC 1624 eqn. 3: the checksum after one 16-bit word changes from old to new. */
@inline export function checksumUpdate16(checksum: u32, oldWord: u32, newWord: u32): u32 {
  return ~fold16((~checksum & 0xffff) + (~oldWord & 0xffff) + newWord) & 0xffff;
}
