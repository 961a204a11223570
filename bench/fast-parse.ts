// The frame parse of the fast TypeScript baselines (router, nat): what the
// SDK's parse() finds of a frame and they use, into the fields of one object
// made once, so that parsing a packet allocates nothing. The same rules as the
// SDK's (test/support/parse-reference.ts states them): up to two VLAN tags; an
// IPv4 header whose length fields make sense; IPv6 extension headers walked;
// an L4 header only when the first fragment holds all of it.

const IPV4 = 0x0800, IPV6 = 0x86dd;

export class FastParse {
  etherType = 0;
  /** Offsets from the packet's start, as parse() gives them (0: none). */
  l3 = 0;
  l4 = 0;
  l4Len = 0;
  /** 4, 6, or 0 when the frame holds no IP header that makes sense. */
  ipVersion = 0;
  ipHeaderLen = 0;
  ipTruncated = false;
  l4Proto = 0;

  /** Parses the len bytes at off of pool. */
  parse(pool: Uint8Array, v: DataView, off: number, len: number): void {
    this.ipVersion = 0;
    this.l4 = 0;
    this.l4Len = 0;
    this.l4Proto = 0;
    this.ipTruncated = false;
    if (len < 14) {
      this.etherType = 0;
      return;
    }
    let at = 12;
    let type = v.getUint16(off + at);
    for (let tags = 0; (type === 0x8100 || type === 0x88a8) && tags < 2; tags++) {
      if (len < at + 6) {
        this.etherType = 0;
        return;
      }
      at += 4;
      type = v.getUint16(off + at);
    }
    this.etherType = type;
    const l3 = at + 2;
    this.l3 = l3;
    const avail = len - l3;
    let l4 = 0;
    let ipLen = 0;
    if (type === IPV4 && avail >= 20) {
      const vihl = pool[off + l3]!;
      const hlen = (vihl & 15) << 2;
      const total = v.getUint16(off + l3 + 2);
      if (vihl >> 4 !== 4 || hlen < 20 || hlen > avail || total < hlen) return;
      this.ipVersion = 4;
      this.ipHeaderLen = hlen;
      this.ipTruncated = total > avail;
      ipLen = total < avail ? total : avail;
      this.l4Proto = pool[off + l3 + 9]!;
      if ((v.getUint16(off + l3 + 6) & 0x1fff) === 0) l4 = l3 + hlen;
    } else if (type === IPV6 && avail >= 40 && pool[off + l3]! >> 4 === 6) {
      this.ipVersion = 6;
      const total = 40 + v.getUint16(off + l3 + 4);
      this.ipTruncated = total > avail;
      ipLen = total < avail ? total : avail;
      let next = pool[off + l3 + 6]!;
      let hdr = 40;
      let first = true;
      for (let i = 0; i < 8; i++) {
        let size: number;
        if (next === 0 || next === 43 || next === 60 || next === 44 || next === 51) {
          if (hdr + 8 > ipLen) break;
          const at8 = off + l3 + hdr;
          if (next === 44) {
            size = 8;
            first = (v.getUint16(at8 + 2) & 0xfff8) === 0;
          } else {
            size = next === 51 ? (pool[at8 + 1]! + 2) * 4 : (pool[at8 + 1]! + 1) * 8;
          }
        } else break;
        if (hdr + size > ipLen) break;
        next = pool[off + l3 + hdr]!;
        hdr += size;
      }
      this.ipHeaderLen = hdr;
      this.l4Proto = next;
      if (first && hdr <= ipLen) l4 = l3 + hdr;
    } else {
      return;
    }
    if (l4 === 0) return;
    const l4Avail = l3 + ipLen - l4;
    const p = this.l4Proto;
    if (p === 6) {
      if (l4Avail < 20) return;
      const doff = (pool[off + l4 + 12]! >> 4) << 2;
      if (doff < 20 || doff > l4Avail) return;
    } else if (p === 17) {
      if (l4Avail < 8) return;
    } else if (p === 1 || p === 58) {
      if (l4Avail < 4) return;
    } else return;
    this.l4 = l4;
    this.l4Len = l4Avail;
  }
}

/** Folds a ones'-complement sum's carries into 16 bits. */
export const fold16 = (sum: number): number => {
  sum = (sum & 0xffff) + (sum >>> 16);
  return (sum & 0xffff) + (sum >>> 16);
};

/** RFC 1624 eqn. 3: the checksum after a 16-bit word changes from old to new. */
export const checksumUpdate16 = (checksum: number, oldWord: number, newWord: number): number =>
  ~fold16((~checksum & 0xffff) + (~oldWord & 0xffff) + newWord) & 0xffff;

/** The same for a 32-bit field (an IPv4 address). */
export const checksumUpdate32 = (checksum: number, oldValue: number, newValue: number): number =>
  ~fold16((~checksum & 0xffff) + (~(oldValue >>> 16) & 0xffff) + (~oldValue & 0xffff) + (newValue >>> 16) + (newValue & 0xffff)) & 0xffff;

/** Whether the IPv4 header at l3 (hlen bytes) carries a right checksum. */
export function ipv4ChecksumOk(v: DataView, l3: number, hlen: number): boolean {
  let sum = 0;
  for (let i = 0; i < hlen; i += 2) sum += v.getUint16(l3 + i);
  return fold16(sum) === 0xffff;
}
