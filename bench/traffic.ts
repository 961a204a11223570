// The bench's traffic: IPv4/UDP frames of one size, one flow each, from
// inside hosts (10.0.0.0/8, so nat translates them) to one service
// (192.168.0.1:80, lb's VIP; routed, allowed by the firewall's rules). A
// packet size here is the Ethernet frame with its 4-byte FCS (RFC 2544's
// 64..1518): DPDK sees size - 4 bytes, and the wire adds 20 (preamble, IFG).
import { writePcap } from '../host/pcap/index.js';

export const FCS_BYTES = 4;
export const WIRE_OVERHEAD_BYTES = 20;
export const SERVICE_IP = '192.168.0.1';
export const SERVICE_PORT = 80;

/** The frame of flow f (0 <= f < 2^24), size bytes on the wire less the FCS. */
export function flowFrame(f: number, size: number): Uint8Array {
  const len = size - FCS_BYTES;
  const b = new Uint8Array(len);
  const v = new DataView(b.buffer);
  b.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1]); // dst, src MAC
  v.setUint16(12, 0x0800);
  v.setUint8(14, 0x45);
  v.setUint16(16, len - 14);
  v.setUint8(22, 64); // TTL
  v.setUint8(23, 17); // UDP
  v.setUint32(26, 0x0a000000 + f); // 10.x.y.z
  v.setUint32(30, 0xc0a80001); // 192.168.0.1
  let sum = 0;
  for (let i = 14; i < 34; i += 2) sum += v.getUint16(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  v.setUint16(24, ~sum & 0xffff);
  v.setUint16(34, 1024 + (f % 60000));
  v.setUint16(36, SERVICE_PORT);
  v.setUint16(38, len - 34); // UDP length; checksum 0 (none)
  return b;
}

/** Writes a pcap of `flows` frames of `size` bytes, one per flow. */
export function writeFlowsPcap(path: string, size: number, flows: number): void {
  writePcap(path, Array.from({ length: flows }, (_, f) => ({ data: flowFrame(f, size) })));
}
