// Writer for classic libpcap capture files, always little-endian.
import { writeFileSync } from 'node:fs';
import { GLOBAL_HEADER_LEN, PCAP_MAGIC_MICROSECOND, PCAP_MAGIC_NANOSECOND, RECORD_HEADER_LEN } from './reader.js';

export const LINKTYPE_ETHERNET = 1;

export interface PcapPacketInput {
  data: Uint8Array;
  /** Capture time in nanoseconds since the Unix epoch; 0 if absent. Rounded down to µs in microsecond files. */
  tsNs?: bigint;
  /** Length on the wire; data.length if absent. */
  origLen?: number;
}

export interface PcapWriteOptions {
  /** Store nanosecond timestamps (magic 0xa1b23c4d); microseconds by default. */
  nanosecond?: boolean;
  snapLen?: number;
  linkType?: number;
}

export function writePcap(path: string, packets: PcapPacketInput[], opts: PcapWriteOptions = {}): void {
  writeFileSync(path, serializePcap(packets, opts));
}

export function serializePcap(packets: PcapPacketInput[], opts: PcapWriteOptions = {}): Uint8Array {
  const { nanosecond = false, snapLen = 65535, linkType = LINKTYPE_ETHERNET } = opts;
  const total = packets.reduce((sum, p) => sum + RECORD_HEADER_LEN + p.data.length, GLOBAL_HEADER_LEN);
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);

  view.setUint32(0, nanosecond ? PCAP_MAGIC_NANOSECOND : PCAP_MAGIC_MICROSECOND, true);
  view.setUint16(4, 2, true); // format version 2.4
  view.setUint16(6, 4, true);
  // bytes 8..15: thiszone and sigfigs, always 0
  view.setUint32(16, snapLen, true);
  view.setUint32(20, linkType, true);

  const unitNs = nanosecond ? 1n : 1000n;
  let offset = GLOBAL_HEADER_LEN;
  packets.forEach((packet, index) => {
    const { data, tsNs = 0n, origLen = data.length } = packet;
    const where = `packets[${index}]`;
    if (data.length > snapLen) throw new Error(`${where}: ${data.length} bytes exceeds snaplen ${snapLen}`);
    if (origLen < data.length) throw new Error(`${where}: origLen ${origLen} is less than its ${data.length} bytes`);
    const seconds = tsNs / 1_000_000_000n;
    if (tsNs < 0n || seconds > 0xffffffffn) throw new Error(`${where}: timestamp ${tsNs} ns does not fit a pcap record`);
    view.setUint32(offset, Number(seconds), true);
    view.setUint32(offset + 4, Number((tsNs % 1_000_000_000n) / unitNs), true);
    view.setUint32(offset + 8, data.length, true);
    view.setUint32(offset + 12, origLen, true);
    bytes.set(data, offset + RECORD_HEADER_LEN);
    offset += RECORD_HEADER_LEN + data.length;
  });
  return bytes;
}
