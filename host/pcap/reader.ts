// Parser for classic libpcap capture files: both byte orders, microsecond and
// nanosecond timestamps. pcapng is recognised only to reject it by name.
import { readFileSync } from 'node:fs';

export const PCAP_MAGIC_MICROSECOND = 0xa1b2c3d4;
export const PCAP_MAGIC_NANOSECOND = 0xa1b23c4d;
export const GLOBAL_HEADER_LEN = 24;
export const RECORD_HEADER_LEN = 16;

const PCAPNG_MAGIC = 0x0a0d0d0a;

export interface PcapPacket {
  /** The captured bytes (caplen of them). */
  data: Uint8Array;
  /** Length of the packet on the wire; larger than data.length if the capture truncated it. */
  origLen: number;
  /** Capture time in nanoseconds since the Unix epoch. */
  tsNs: bigint;
}

export interface PcapFile {
  linkType: number;
  snapLen: number;
  /** True if the file stores nanosecond timestamps (magic 0xa1b23c4d). */
  nanosecond: boolean;
  packets: PcapPacket[];
}

export function readPcap(path: string): PcapFile {
  const bytes = readFileSync(path);
  return parsePcap(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), path);
}

/**
 * Parses a pcap file held in `bytes`; `source` names it in error messages.
 * Packet data are views into `bytes`, not copies.
 */
export function parsePcap(bytes: Uint8Array, source: string): PcapFile {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const { littleEndian, nanosecond } = readMagic(view, source);
  if (bytes.length < GLOBAL_HEADER_LEN) {
    throw new Error(`${source}: file header at byte 0: truncated (${bytes.length} of ${GLOBAL_HEADER_LEN} bytes)`);
  }
  const snapLen = view.getUint32(16, littleEndian);
  const linkType = view.getUint32(20, littleEndian);
  const fractionToNs = nanosecond ? 1n : 1000n;

  const packets: PcapPacket[] = [];
  let offset = GLOBAL_HEADER_LEN;
  while (offset < bytes.length) {
    const where = `${source}: record ${packets.length + 1} at byte ${offset}`;
    const headerBytes = bytes.length - offset;
    if (headerBytes < RECORD_HEADER_LEN) {
      throw new Error(`${where}: truncated record header (${headerBytes} of ${RECORD_HEADER_LEN} bytes)`);
    }
    const seconds = view.getUint32(offset, littleEndian);
    const fraction = view.getUint32(offset + 4, littleEndian);
    const capLen = view.getUint32(offset + 8, littleEndian);
    const origLen = view.getUint32(offset + 12, littleEndian);
    if (capLen > snapLen) throw new Error(`${where}: caplen ${capLen} exceeds snaplen ${snapLen}`);
    const dataStart = offset + RECORD_HEADER_LEN;
    const dataBytes = bytes.length - dataStart;
    if (dataBytes < capLen) {
      throw new Error(`${where}: truncated packet data (${dataBytes} of ${capLen} bytes)`);
    }
    packets.push({
      data: bytes.subarray(dataStart, dataStart + capLen),
      origLen,
      tsNs: BigInt(seconds) * 1_000_000_000n + BigInt(fraction) * fractionToNs,
    });
    offset = dataStart + capLen;
  }
  return { linkType, snapLen, nanosecond, packets };
}

function readMagic(view: DataView, source: string): { littleEndian: boolean; nanosecond: boolean } {
  if (view.byteLength < 4) throw new Error(`${source}: not a pcap file (only ${view.byteLength} bytes)`);
  const magic = view.getUint32(0, true);
  switch (magic) {
    case PCAP_MAGIC_MICROSECOND:
      return { littleEndian: true, nanosecond: false };
    case PCAP_MAGIC_NANOSECOND:
      return { littleEndian: true, nanosecond: true };
  }
  switch (view.getUint32(0, false)) {
    case PCAP_MAGIC_MICROSECOND:
      return { littleEndian: false, nanosecond: false };
    case PCAP_MAGIC_NANOSECOND:
      return { littleEndian: false, nanosecond: true };
    case PCAPNG_MAGIC:
      throw new Error(
        `${source}: pcapng is not supported, only classic pcap (magic 0x0a0d0d0a); ` +
          `convert it with: tcpdump -r in.pcapng -w out.pcap`,
      );
  }
  // Shown in file byte order, so it reads like a hex dump of the first 4 bytes.
  throw new Error(`${source}: not a pcap file (magic 0x${view.getUint32(0, false).toString(16).padStart(8, '0')})`);
}
