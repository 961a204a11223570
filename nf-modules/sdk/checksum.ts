// Internet checksums over parsed packets: the IPv4 header's, and TCP/UDP/ICMP
// with the pseudo-header of RFC 768/793 (IPv4) and RFC 8200 8.1 (IPv6).
import { checksumUpdate16, fold16, loadBe16, storeBe16, sum16 } from './bytes';
import { IPPROTO_ICMP, Parsed } from './packet';

/** Ones'-complement sum of len bytes, any length (an odd last byte is padded). */
export function sumBytes(addr: usize, len: u32): u32 {
  const even = len & ~1;
  let sum = sum16(addr, even);
  if (len & 1) sum += <u32>load<u8>(addr + even) << 8;
  return sum;
}

/** True when the IPv4 header's checksum is right (p.ipVersion == 4). */
export function ipv4ChecksumOk(p: Parsed): bool {
  return ipv4HeaderChecksumOk(p.addr + p.l3, p.ipHeaderLen);
}

/** True when the checksum of the IPv4 header at ip, of hlen bytes, is right. */
@inline export function ipv4HeaderChecksumOk(ip: usize, hlen: u32): bool {
  return fold16(sum16(ip, hlen)) == 0xffff;
}

/** Decrements the TTL of the IPv4 header at ip (a TTL above 1) and updates its checksum
 *  (RFC 1624) on the words as they load, unswapped: a ones' complement sum comes out the same
 *  in either byte order (RFC 1071), and Wasm has no byte swap. The TTL is the loaded word's
 *  low byte. */
@inline export function ipv4TtlStep(ip: usize): void {
  const oldWord = <u32>load<u16>(ip, 8);
  const newWord = oldWord - 1;
  store<u16>(ip, <u16>newWord, 8);
  store<u16>(ip, <u16>checksumUpdate16(<u32>load<u16>(ip, 10), oldWord, newWord), 10);
}

/** Recomputes and stores the IPv4 header checksum. */
export function ipv4ChecksumSet(p: Parsed): void {
  const ip = p.addr + p.l3;
  storeBe16(ip + 10, 0);
  storeBe16(ip + 10, ~fold16(sum16(ip, p.ipHeaderLen)) & 0xffff);
}

function pseudoHeaderSum(p: Parsed): u32 {
  if (p.l4Proto == IPPROTO_ICMP) return 0; // ICMPv4 has none
  const addrBytes: u32 = p.ipVersion == 4 ? 8 : 32;
  return sum16(p.srcAddr(), addrBytes) + p.l4Len + p.l4Proto;
}

/** Offset of the checksum field in the L4 header. */
function checksumField(p: Parsed): u32 {
  return p.l4Proto == 6 ? 16 : p.l4Proto == 17 ? 6 : 2;
}

/** The L4 checksum a packet should carry (p.l4 != 0, not truncated, not a fragment). */
export function l4ChecksumCompute(p: Parsed): u32 {
  const h = p.addr + p.l4;
  const field = h + checksumField(p);
  const saved = loadBe16(field);
  storeBe16(field, 0);
  let c = ~fold16(pseudoHeaderSum(p) + sumBytes(h, p.l4Len)) & 0xffff;
  storeBe16(field, saved);
  // UDP sends a computed 0 as 0xffff (0 means "no checksum" in IPv4).
  if (p.l4Proto == 17 && c == 0) c = 0xffff;
  return c;
}

/** True when the L4 checksum verifies (an IPv4 UDP checksum of 0 means none, and passes). */
export function l4ChecksumOk(p: Parsed): bool {
  const field = p.addr + p.l4 + checksumField(p);
  if (p.l4Proto == 17 && p.ipVersion == 4 && loadBe16(field) == 0) return true;
  return fold16(pseudoHeaderSum(p) + sumBytes(p.addr + p.l4, p.l4Len)) == 0xffff;
}

export function l4ChecksumSet(p: Parsed): void {
  storeBe16(p.addr + p.l4 + checksumField(p), l4ChecksumCompute(p));
}

/** RFC 1624 eqn. 3 for a 32-bit field (an IPv4 address, say) that changed. */
@inline export function checksumUpdate32(checksum: u32, oldValue: u32, newValue: u32): u32 {
  const sum = (~checksum & 0xffff) + (~(oldValue >> 16) & 0xffff) + (~oldValue & 0xffff) + (newValue >> 16) + (newValue & 0xffff);
  return ~fold16(sum) & 0xffff;
}
