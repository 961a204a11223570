// The idle points: a [forward] chain between two links that carry nothing but
// one probe frame after every quiet spell (bench/wake.c): veth pairs read with
// net_af_packet (no RX interrupts: the poll lcore naps), the probe in a network
// namespace on their other ends; or two net_tap ports (RX interrupts: it
// sleeps on them), the probe on their kernel sides. What each thread costs
// while the data plane is idle, and how long the first frame after a quiet
// spell takes to come back out; with adaptive polling (the default) and with
// busy polling (the baseline: the same path without naps or sleeps).
import { execFileSync, spawn } from 'node:child_process';
import { cProgram } from './c-program.js';

/** Quiet time before each probe: well past the poll lcore's longest nap (its naps reach their
 *  longest about 2 ms into a quiet spell) and the worker's 10 ms before it sleeps. */
export const QUIET_MS = 250;

const sh = (...args: string[]): void => void execFileSync(args[0]!, args.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });

/** A veth pair, `peer` in the namespace `ns`, both ends up and sending nothing of their own
 *  (no addresses, no IPv6). */
export function addVethPair(ns: string, host: string, peer: string): void {
  sh('ip', 'link', 'add', host, 'type', 'veth', 'peer', 'name', peer);
  sh('ip', 'link', 'set', peer, 'netns', ns);
  sh('sysctl', '-qw', `net.ipv6.conf.${host}.disable_ipv6=1`);
  sh('ip', 'netns', 'exec', ns, 'sysctl', '-qw', `net.ipv6.conf.${peer}.disable_ipv6=1`);
  sh('ip', 'link', 'set', host, 'up');
  sh('ip', 'netns', 'exec', ns, 'ip', 'link', 'set', peer, 'up');
}

/** veth: two veth pairs, the host ends for netvm's ports, the other ends in a namespace of their
 *  own (no addresses, no IPv6: nothing on the links but the probes). tap: two net_tap ports,
 *  which netvm makes when it starts; the probe uses their kernel sides. */
export class ProbeLinks {
  readonly ns = `nvb${process.pid}`;
  readonly hostIn = `nvbi${process.pid}`;
  readonly hostOut = `nvbo${process.pid}`;
  private readonly peers: [string, string];
  private readonly wake = cProgram('wake');

  constructor(readonly kind: 'veth' | 'tap') {
    this.peers = kind === 'tap' ? [this.hostIn, this.hostOut] : ['pin', 'pout'];
    if (kind === 'tap') return;
    sh('ip', 'netns', 'add', this.ns);
    try {
      addVethPair(this.ns, this.hostIn, this.peers[0]);
      addVethPair(this.ns, this.hostOut, this.peers[1]);
    } catch (err) {
      this.remove();
      throw err;
    }
  }

  /** netvm's ports: frames come in on one link and go out on the other. */
  ports(): { in: string; out: string } {
    return this.kind === 'tap'
      ? { in: `net_tap0,iface=${this.hostIn}`, out: `net_tap1,iface=${this.hostOut}` }
      : { in: `net_af_packet0,iface=${this.hostIn}`, out: `net_af_packet1,iface=${this.hostOut}` };
  }

  /** Sends `probes` frames, each after QUIET_MS of quiet; each one's round trip in microseconds
   *  (undefined: it did not come back within a second). */
  async probe(probes: number): Promise<(number | undefined)[]> {
    const wake = [this.wake, this.peers[0], this.peers[1], String(QUIET_MS), String(probes)];
    const child = this.kind === 'tap'
      ? spawn(wake[0]!, wake.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn('ip', ['netns', 'exec', this.ns, ...wake], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => child.on('close', r));
    if (code !== 0) throw new Error(`the wake probe failed (exit ${code}): ${err.trim()}`);
    return out.trim().split('\n').map((line) => (line === 'lost' ? undefined : Number(line)));
  }

  /** The namespace and both pairs go (deleting the namespace deletes its veth ends, and so the
   *  pairs); net_tap's interfaces went with the run. */
  remove(): void {
    if (this.kind === 'tap') return;
    try {
      sh('ip', 'netns', 'del', this.ns);
    } catch {
      // Never made.
    }
  }
}
