// A pcap-in → chain → pcap-out config, and the packets that came out.
import { join } from 'node:path';
import { readPcap } from '../../host/pcap/index.js';
import { REPO_ROOT } from './fixtures.js';

export const TRAFFIC = join(REPO_ROOT, 'examples/traffic.pcap');
/** Frames larger than an mbuf's data room arrive in several mbufs: counted and dropped. */
export const DATA_ROOM = 2048;

export function pcapChainConfig(dir: string, nfs: Record<string, string>, input = TRAFFIC): object {
  return {
    cores: { poll: 1, workers: [0] },
    ports: { in: `net_pcap0,rx_pcap=${input}`, out: `net_pcap1,tx_pcap=${join(dir, 'out.pcap')}` },
    nfs: Object.fromEntries(Object.entries(nfs).map(([name, module]) => [name, { module }])),
    chains: [{ from: 'in', through: Object.keys(nfs), to: 'out' }],
  };
}

export function inputFrames(input = TRAFFIC): Uint8Array[] {
  return readPcap(input).packets.map((p) => p.data);
}

export function outputFrames(dir: string): Uint8Array[] {
  return readPcap(join(dir, 'out.pcap')).packets.map((p) => p.data);
}
