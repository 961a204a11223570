// The kernel-<pmd> points' link: a veth pair in this namespace, both ends up
// and sending nothing of their own (no addresses, no IPv6), removed after.
import { execFileSync } from 'node:child_process';

const sh = (...args: string[]): void => void execFileSync(args[0]!, args.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });

export function addKernelLink(): [string, string] {
  const ends: [string, string] = [`nvka${process.pid}`.slice(0, 15), `nvkb${process.pid}`.slice(0, 15)];
  sh('ip', 'link', 'add', ends[0], 'type', 'veth', 'peer', 'name', ends[1]);
  for (const end of ends) {
    sh('sysctl', '-qw', `net.ipv6.conf.${end}.disable_ipv6=1`);
    sh('ip', 'link', 'set', end, 'up');
  }
  return ends;
}

/** Removes the pair (deleting one end deletes both). */
export function removeKernelLink(ends: [string, string]): void {
  sh('ip', 'link', 'del', ends[0]);
}
