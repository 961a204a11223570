// Reference model of what a router's TTL step does to an Ethernet frame, for
// checking NFs against. Deliberately independent: it shares no code with the
// builders in packets.ts, and it recomputes the IPv4 header checksum from
// scratch rather than updating it incrementally (RFC 1624) as an NF would.
//
// One step:
//   - L3 starts after the Ethernet header, one 802.1Q tag (0x8100), or a QinQ
//     pair (0x88a8 then 0x8100); IP inside VLANs is IP.
//   - IPv4 (0x0800) is valid when the frame holds the whole header, version 4,
//     IHL >= 5, IHL*4 <= total length <= bytes after L2, and the header checksum
//     is correct. Valid: TTL <= 1 -> drop, else TTL - 1 and a fresh checksum.
//   - IPv6 (0x86dd) is valid when the frame holds the 40-byte header and the
//     version is 6 (payload length is not checked). Valid: hop limit <= 1 ->
//     drop, else hop limit - 1.
//   - Anything else (non-IP, invalid, truncated) passes unchanged.

export type TtlVerdict = 'drop' | 'pass';

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const TPID_VLAN = 0x8100;
const TPID_QINQ = 0x88a8;

/**
 * Applies `steps` routers in a row to a copy of `frame`. On a drop, `out` is
 * the frame as the dropping router received it.
 */
export function ttlStep(frame: Uint8Array, steps: number): { verdict: TtlVerdict; out: Uint8Array } {
  if (!Number.isInteger(steps) || steps < 0) throw new RangeError(`steps must be a non-negative integer, got ${steps}`);
  const out = new Uint8Array(frame);
  for (let i = 0; i < steps; i++) {
    if (stepInPlace(out) === 'drop') return { verdict: 'drop', out };
  }
  return { verdict: 'pass', out };
}

function stepInPlace(frame: Uint8Array): TtlVerdict {
  const l3 = locateL3(frame);
  if (l3?.etherType === ETHERTYPE_IPV4) return stepIpv4(frame, l3.offset);
  if (l3?.etherType === ETHERTYPE_IPV6) return stepIpv6(frame, l3.offset);
  return 'pass';
}

function locateL3(frame: Uint8Array): { etherType: number; offset: number } | undefined {
  let typeAt = 12;
  if (frame.length < typeAt + 2) return undefined;
  if (read16(frame, typeAt) === TPID_QINQ) {
    typeAt += 4;
    if (frame.length < typeAt + 2 || read16(frame, typeAt) !== TPID_VLAN) return undefined;
  }
  if (read16(frame, typeAt) === TPID_VLAN) {
    typeAt += 4;
    if (frame.length < typeAt + 2) return undefined;
  }
  return { etherType: read16(frame, typeAt), offset: typeAt + 2 };
}

function stepIpv4(frame: Uint8Array, ip: number): TtlVerdict {
  const available = frame.length - ip;
  if (available < 20) return 'pass';
  const version = frame[ip] >> 4;
  const headerLen = (frame[ip] & 0x0f) * 4;
  if (version !== 4 || headerLen < 20 || available < headerLen) return 'pass';
  const totalLen = read16(frame, ip + 2);
  if (totalLen < headerLen || totalLen > available) return 'pass';
  if (onesComplementSum(frame.subarray(ip, ip + headerLen)) !== 0xffff) return 'pass';

  const ttl = frame[ip + 8];
  if (ttl <= 1) return 'drop';
  frame[ip + 8] = ttl - 1;
  frame[ip + 10] = 0;
  frame[ip + 11] = 0;
  const sum = ~onesComplementSum(frame.subarray(ip, ip + headerLen)) & 0xffff;
  frame[ip + 10] = sum >> 8;
  frame[ip + 11] = sum & 0xff;
  return 'pass';
}

function stepIpv6(frame: Uint8Array, ip: number): TtlVerdict {
  if (frame.length - ip < 40 || frame[ip] >> 4 !== 6) return 'pass';
  const hopLimit = frame[ip + 7];
  if (hopLimit <= 1) return 'drop';
  frame[ip + 7] = hopLimit - 1;
  return 'pass';
}

/** Folded 16-bit ones' complement sum; 0xffff over a header with a correct checksum. */
function onesComplementSum(header: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < header.length; i += 2) sum += (header[i] << 8) | header[i + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

function read16(bytes: Uint8Array, offset: number): number {
  return (bytes[offset] << 8) | bytes[offset + 1];
}
