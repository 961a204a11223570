// The NFs' logic in plain TypeScript over pool bytes: the baselines of
// bench/nf-speed.ts. Each takes the packet at off (len bytes) and returns
// false to drop it; it may change the packet as its NF does.

/** ttl's step (nf-modules/ttl): IPv4 checked and TTL - 1 with an incremental checksum; IPv6 hop limit. */
export function ttlBaseline(pool: Uint8Array, v: DataView, off: number, len: number): boolean {
  if (len < 14) return true;
  let l3 = off + 14;
  let type = v.getUint16(off + 12);
  if (type === 0x88a8 && len >= 22 && v.getUint16(off + 16) === 0x8100) {
    type = v.getUint16(off + 20);
    l3 = off + 22;
  } else if (type === 0x8100 && len >= 18) {
    type = v.getUint16(off + 16);
    l3 = off + 18;
  }
  const avail = off + len - l3;
  if (type === 0x0800) {
    if (avail < 20) return true;
    const vihl = pool[l3]!;
    const hlen = (vihl & 15) << 2;
    if (vihl >> 4 !== 4 || hlen < 20) return true;
    const total = v.getUint16(l3 + 2);
    if (total < hlen || total > avail) return true;
    let sum = 0;
    for (let i = 0; i < hlen; i += 2) sum += v.getUint16(l3 + i);
    sum = (sum & 0xffff) + (sum >>> 16);
    sum = (sum & 0xffff) + (sum >>> 16);
    if (sum !== 0xffff) return true;
    const ttl = pool[l3 + 8]!;
    if (ttl <= 1) return false;
    pool[l3 + 8] = ttl - 1;
    let c = v.getUint16(l3 + 10) + 0x100;
    c = (c & 0xffff) + (c >>> 16);
    v.setUint16(l3 + 10, c);
    return true;
  }
  if (type === 0x86dd && avail >= 40 && pool[l3]! >> 4 === 6) {
    const hops = pool[l3 + 7]!;
    if (hops <= 1) return false;
    pool[l3 + 7] = hops - 1;
  }
  return true;
}
