// An independent reference of what the SDK's parse() reports for a frame,
// written from the RFCs with DataView, for test/sdk-packet.test.ts.
import { checksum } from './packets.js';

export interface ParsedRef {
  vlans: number; outerVlan: number; innerVlan: number; etherType: number; l3: number;
  ipVersion: number; ipHeaderLen: number; ipLen: number; ipTruncated: number; fragment: number;
  firstFragment: number; l4Proto: number; l4: number; l4Len: number; srcPort: number; dstPort: number;
  tcpFlags: number; icmpType: number; icmpCode: number; ipv4ChecksumOk: number; l4ChecksumOk: number;
}
export const FIELDS: (keyof ParsedRef)[] = [
  'vlans', 'outerVlan', 'innerVlan', 'etherType', 'l3', 'ipVersion', 'ipHeaderLen', 'ipLen', 'ipTruncated',
  'fragment', 'firstFragment', 'l4Proto', 'l4', 'l4Len', 'srcPort', 'dstPort', 'tcpFlags', 'icmpType',
  'icmpCode', 'ipv4ChecksumOk', 'l4ChecksumOk',
];

function blank(): ParsedRef {
  return Object.fromEntries(FIELDS.map((f) => [f, 0])) as unknown as ParsedRef;
}

export function parseRef(f: Uint8Array): ParsedRef {
  const r = blank();
  r.ipv4ChecksumOk = -1;
  r.l4ChecksumOk = -1;
  const v = new DataView(f.buffer, f.byteOffset, f.byteLength);
  if (f.length < 14) return r;
  let off = 12;
  let type = v.getUint16(off);
  while ((type === 0x8100 || type === 0x88a8) && r.vlans < 2) {
    if (f.length < off + 6) return r;
    const vid = v.getUint16(off + 2) & 0xfff;
    if (r.vlans === 0) r.outerVlan = vid;
    else r.innerVlan = vid;
    r.vlans++;
    off += 4;
    type = v.getUint16(off);
  }
  r.etherType = type;
  r.l3 = off + 2;
  const avail = f.length - r.l3;
  let l4Start = -1;
  if (type === 0x0800 && avail >= 20) {
    const hlen = (f[r.l3]! & 15) * 4;
    const total = v.getUint16(r.l3 + 2);
    if (f[r.l3]! >> 4 !== 4 || hlen < 20 || hlen > avail || total < hlen) return r;
    r.ipVersion = 4;
    r.ipHeaderLen = hlen;
    r.ipTruncated = total > avail ? 1 : 0;
    r.ipLen = Math.min(total, avail);
    const frag = v.getUint16(r.l3 + 6);
    r.fragment = (frag & 0x3fff) !== 0 ? 1 : 0;
    r.firstFragment = (frag & 0x1fff) === 0 ? 1 : 0;
    r.l4Proto = f[r.l3 + 9]!;
    r.ipv4ChecksumOk = checksum(f.subarray(r.l3, r.l3 + hlen)) === 0 ? 1 : 0;
    if (r.firstFragment) l4Start = r.l3 + hlen;
  } else if (type === 0x86dd && avail >= 40 && f[r.l3]! >> 4 === 6) {
    r.ipVersion = 6;
    const total = 40 + v.getUint16(r.l3 + 4);
    r.ipTruncated = total > avail ? 1 : 0;
    r.ipLen = Math.min(total, avail);
    r.firstFragment = 1;
    let next = f[r.l3 + 6]!;
    let hdr = 40;
    for (let i = 0; i < 8; i++) {
      let len: number;
      if ([0, 43, 60].includes(next)) {
        if (hdr + 8 > r.ipLen) break;
        len = (f[r.l3 + hdr + 1]! + 1) * 8;
      } else if (next === 44) {
        if (hdr + 8 > r.ipLen) break;
        len = 8;
        r.fragment = 1;
        r.firstFragment = (v.getUint16(r.l3 + hdr + 2) & 0xfff8) === 0 ? 1 : 0;
      } else if (next === 51) {
        if (hdr + 8 > r.ipLen) break;
        len = (f[r.l3 + hdr + 1]! + 2) * 4;
      } else break;
      if (hdr + len > r.ipLen) break;
      next = f[r.l3 + hdr]!;
      hdr += len;
    }
    r.ipHeaderLen = hdr;
    r.l4Proto = next;
    if (r.firstFragment && hdr <= r.ipLen) l4Start = r.l3 + hdr;
  } else {
    return r;
  }
  if (l4Start < 0) return r;
  const l4Avail = r.l3 + r.ipLen - l4Start;
  const p = r.l4Proto;
  if (p === 6) {
    if (l4Avail < 20) return r;
    const doff = (f[l4Start + 12]! >> 4) * 4;
    if (doff < 20 || doff > l4Avail) return r;
    r.tcpFlags = f[l4Start + 13]!;
  } else if (p === 17) {
    if (l4Avail < 8) return r;
  } else if (p === 1 || p === 58) {
    if (l4Avail < 4) return r;
    r.icmpType = f[l4Start]!;
    r.icmpCode = f[l4Start + 1]!;
  } else return r;
  if (p === 6 || p === 17) {
    r.srcPort = v.getUint16(l4Start);
    r.dstPort = v.getUint16(l4Start + 2);
  }
  r.l4 = l4Start;
  r.l4Len = l4Avail;
  if (!r.ipTruncated && !r.fragment) r.l4ChecksumOk = l4ChecksumOkRef(f, r) ? 1 : 0;
  return r;
}

function l4ChecksumOkRef(f: Uint8Array, r: ParsedRef): boolean {
  const seg = f.subarray(r.l4, r.l4 + r.l4Len);
  if (r.l4Proto === 17 && r.ipVersion === 4 && seg[6] === 0 && seg[7] === 0) return true;
  if (r.l4Proto === 1) return checksum(seg) === 0;
  const addrs = r.ipVersion === 4 ? f.subarray(r.l3 + 12, r.l3 + 20) : f.subarray(r.l3 + 8, r.l3 + 40);
  const pseudo = new Uint8Array(addrs.length + 8 + seg.length + (seg.length & 1));
  pseudo.set(addrs, 0);
  const pv = new DataView(pseudo.buffer);
  pv.setUint32(addrs.length, seg.length);
  pv.setUint32(addrs.length + 4, r.l4Proto);
  pseudo.set(seg, addrs.length + 8);
  return checksum(pseudo) === 0;
}
