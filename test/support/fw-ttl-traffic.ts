// What the tests of real ports (af-xdp, pci-nic) send through firewall -> ttl:
// numbered traffic of mixed sizes and kinds, the firewall's config, and what
// the references say comes out, each frame in hex, in order.
import { FirewallReference, type FwConfig } from './firewall-reference.js';
import { numberedTraffic } from './traffic.js';
import { ttlStep } from './ttl-reference.js';

export const FW_TTL_FIREWALL: FwConfig = {
  default: 'allow',
  non_ip: 'allow',
  rules: [{ action: 'deny', proto: 'udp', dport: '1030-1040' }, { action: 'deny', src: '10.0.0.0/8', proto: 'tcp', dport: 1050 }],
};

/** count frames, and what comes out of firewall (FW_TTL_FIREWALL) -> ttl. */
export function fwTtlTraffic(count: number): { frames: Uint8Array[]; expected: string[] } {
  const frames = numberedTraffic(count).map((f) => f.frame);
  const ref = new FirewallReference(FW_TTL_FIREWALL);
  const expected = frames.flatMap((f) => {
    if (!ref.decide(f)) return [];
    const step = ttlStep(f, 1);
    return step.verdict === 'pass' ? [Buffer.from(step.out).toString('hex')] : [];
  });
  return { frames, expected };
}
