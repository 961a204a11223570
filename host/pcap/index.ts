export { readPcap, parsePcap } from './reader.js';
export type { PcapFile, PcapPacket } from './reader.js';
export { writePcap, serializePcap, LINKTYPE_ETHERNET } from './writer.js';
export type { PcapPacketInput, PcapWriteOptions } from './writer.js';
