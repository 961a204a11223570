// A vm NF reached over vhost-user is not called by its chain: it is a guest
// with two virtio-net interfaces, each a DPDK vhost-user port here. So the
// chain is split at it: the NFs before it end at the port into the guest, and
// the NFs after it start at the port out of it, as a chain of their own
// (named `<chain>/<nf>`). Any guest image whose Linux forwards from its first
// interface to its second (a bridge) can stand there. The rest of the run
// sees only ports and chains.
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import type { ChainConfig, DataPlaneConfig, NfConfig } from '../config/config.js';

/** A vhost-user guest to start: its image and the sockets of its two ports (into it, out of it). */
export interface VhostGuestPlan {
  nf: string;
  image: string;
  sockets: [string, string];
  /** Indexes of its two ports in the split config. */
  ports: [number, number];
}

const isVhostNf = (nf: NfConfig): boolean => nf.trust === 'vm' && nf.via === 'vhost-user';

/** The config with every chain split at its vhost-user NFs, and the guests those need. */
export function splitAtVhostGuests(cfg: DataPlaneConfig, filePrefix: string): { cfg: DataPlaneConfig; guests: VhostGuestPlan[] } {
  const vhost = new Map(cfg.nfs.filter(isVhostNf).map((nf) => [nf.name, nf]));
  if (vhost.size === 0) return { cfg, guests: [] };
  const ports = [...cfg.ports];
  const chains: ChainConfig[] = [];
  const guests: VhostGuestPlan[] = [];
  for (const chain of cfg.chains) {
    let segment: ChainConfig = { ...chain, through: [] };
    for (const name of chain.through) {
      const nf = vhost.get(name);
      if (nf === undefined) {
        segment.through.push(name);
        continue;
      }
      const sockets: [string, string] = [0, 1].map((i) => join(tmpdir(), `netvm-${filePrefix}-${name}-${i}.sock`)) as [string, string];
      const into = ports.push({ name: `${name}.into`, devargs: `net_vhost_${name}_0,iface=${sockets[0]},queues=1` }) - 1;
      const outOf = ports.push({ name: `${name}.out`, devargs: `net_vhost_${name}_1,iface=${sockets[1]},queues=1` }) - 1;
      guests.push({ nf: name, image: nf.module, sockets, ports: [into, outOf] });
      chains.push({ ...segment, to: into });
      segment = { ...chain, name: `${chain.name}/${name}`, from: outOf, through: [] };
    }
    chains.push(segment);
  }
  return { cfg: { ...cfg, ports, chains, nfs: cfg.nfs.filter((nf) => !vhost.has(nf.name)) }, guests };
}
