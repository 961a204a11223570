// A peer (issue 23): DPDK's l3fwd (Debian's dpdk-doc examples/l3fwd) in LPM
// mode, on one core, routing the chain points' traffic (a replayed pcap) into
// net_null, as the router NF would: a longest-prefix match per packet, the
// TTL and checksum stepped, the MACs rewritten. Built here from the packaged
// source like the skeleton. Virtual devices have no checksum offload, which
// l3fwd asks of every port: it is built with RTE_ETH_RX_OFFLOAD_CHECKSUM as 0
// (a forced include), its source untouched.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../host/paths.js';
import { dpdkAppPps } from './skeleton.js';

const L3FWD_SRC = '/usr/share/dpdk/examples/l3fwd';
const BUILD = join(PROJECT_ROOT, 'bench/build');
const L3FWD = join(BUILD, 'l3fwd');

/** Builds l3fwd when missing or older than its sources; false when dpdk-doc is not installed. */
export function buildL3fwd(): boolean {
  if (!existsSync(L3FWD_SRC)) return false;
  // The route parsers are included by the lookup files, as in the example's meson.build.
  const sources = readdirSync(L3FWD_SRC).filter((f) => f.endsWith('.c') && !f.endsWith('route_parse.c')).map((f) => join(L3FWD_SRC, f));
  if (existsSync(L3FWD) && sources.every((f) => statSync(L3FWD).mtimeMs >= statSync(f).mtimeMs)) return true;
  mkdirSync(BUILD, { recursive: true });
  const noChecksum = join(BUILD, 'l3fwd-no-rx-checksum.h');
  writeFileSync(noChecksum, '#include <rte_ethdev.h>\n#undef RTE_ETH_RX_OFFLOAD_CHECKSUM\n#define RTE_ETH_RX_OFFLOAD_CHECKSUM 0\n');
  const flags = (what: string): string[] => execFileSync('pkg-config', [what, 'libdpdk'], { encoding: 'utf8' }).trim().split(/\s+/);
  execFileSync('cc', [
    '-O3', '-DALLOW_EXPERIMENTAL_API', '-include', noChecksum, '-I', '/usr/share/dpdk/examples/common', ...flags('--cflags'),
    ...sources, '-o', L3FWD, ...flags('--libs'),
  ], { stdio: ['ignore', 'ignore', 'inherit'] });
  return true;
}

/** Packets per second l3fwd routes from the pcap (replayed without end) into net_null, on `cpu`:
 *  the pcap's flows (10.0.0.0/8 to 192.168.0.0/16) routed out of the net_null port. */
export function l3fwdPps(pcap: string, scratch: string, cpu: number, warmupS: number, seconds: number): Promise<number> {
  const routes = join(scratch, 'l3fwd-routes-v4.cfg');
  const routes6 = join(scratch, 'l3fwd-routes-v6.cfg');
  writeFileSync(routes, 'R192.168.0.0/16 1\nR10.0.0.0/8 0\n');
  writeFileSync(routes6, 'R2001:db8::/32 1\n');
  const args = [
    '-l', String(cpu), '--in-memory', '--no-pci', '--log-level=lib.eal:error',
    '--vdev', `net_pcap0,rx_pcap=${pcap},infinite_rx=1`, '--vdev', 'net_null0,no-rx=1',
    '--', '-p', '0x3', '-P', `--config=(0,0,${cpu}),(1,0,${cpu})`, '--lookup=lpm', '--parse-ptype',
    `--rule_ipv4=${routes}`, `--rule_ipv6=${routes6}`,
  ];
  return dpdkAppPps(L3FWD, 'l3fwd', args, [1], warmupS, seconds);
}
