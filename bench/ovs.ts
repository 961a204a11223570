// A peer (issue 23): Open vSwitch with DPDK (Debian's openvswitch-switch-dpdk),
// run by the bench on its own: an ovsdb-server and an ovs-vswitchd-dpdk with
// their database and sockets in a scratch folder, a netdev bridge whose two
// dpdk ports take the chain points' devargs (a replayed pcap into net_null),
// one PMD core, and the forwarding written as OpenFlow. What it sent is read
// from the out port's OpenFlow counters (`ovs-ofctl dump-ports`); both daemons
// are stopped and what they leave removed.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { removeRuntimeDir } from '../host/dataplane/driver.js';
import { FIREWALL_RULES } from './baselines.js';
import { nfConfig } from './matrix.js';

const VSWITCHD = '/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk';
const SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Whether Open vSwitch with DPDK is installed (scripts/setup installs it). */
export const hasOvs = (): boolean => existsSync(VSWITCHD) && existsSync(SCHEMA);

/** The port range [lo, hi] as OpenFlow value/mask pairs ("tp_dst=64/0xfff0"). */
export function portMasks(lo: number, hi: number): string[] {
  const out: string[] = [];
  while (lo <= hi) {
    let size = 1;
    while ((lo & (size * 2 - 1)) === 0 && lo + size * 2 - 1 <= hi && size < 65536) size *= 2;
    out.push(size === 1 ? String(lo) : `${lo}/0x${(0xffff & ~(size - 1)).toString(16)}`);
    lo += size;
  }
  return out;
}

const ip = (a: number): string => [a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255].join('.');

/** The OpenFlow tables of a peer: forward, or firewall -> router -> nat as the chain points run
 *  them (made from bench/matrix.ts nfConfig's data): table 0 the firewall's rules in order (port ranges as masks),
 *  its default deny for IP (other frames pass, as the NF's non_ip: allow); table 1 the routes,
 *  longest prefix first, as dec_ttl and the next hop's MAC; table 2 NAT of 10.0.0.0/8 as
 *  conntrack's source NAT to the public address. */
export function ovsFlows(peer: 'forward' | 'chain3'): string[] {
  if (peer === 'forward') return ['in_port=in,actions=output:out'];
  const flows: string[] = [];
  FIREWALL_RULES.forEach((r, i) => {
    const match = [r.proto === 6 ? 'tcp' : 'udp', r.srcLen ? `nw_src=${ip(r.src)}/${r.srcLen}` : '', r.dstLen ? `nw_dst=${ip(r.dst)}/${r.dstLen}` : ''].filter(Boolean).join(',');
    const ports = r.dportLo === 0 && r.dportHi === 65535 ? [''] : portMasks(r.dportLo, r.dportHi).map((m) => `,tp_dst=${m}`);
    for (const port of ports) flows.push(`table=0,priority=${1000 - i},${match}${port},actions=${r.allow ? 'goto_table:1' : 'drop'}`);
  });
  flows.push('table=0,priority=2,ip,actions=drop', 'table=0,priority=2,ipv6,actions=drop', 'table=0,priority=1,actions=goto_table:1');
  for (const r of ROUTER.routes) {
    const len = Number(r.prefix.split('/')[1]);
    flows.push(`table=1,priority=${len + 1},ip,nw_dst=${r.prefix},actions=dec_ttl,mod_dl_dst:${ROUTER.next_hops[r.via]!.mac},goto_table:2`);
  }
  flows.push('table=1,priority=0,actions=goto_table:2');
  flows.push(`table=2,priority=1,ip,nw_src=${NAT.inside},actions=ct(commit,nat(src=${NAT.public_ip})),output:out`, 'table=2,priority=0,actions=output:out');
  return flows;
}

/** The chain points' router and nat at 1K flows, as they run them. */
const ROUTER = nfConfig('router', 1000) as { next_hops: { mac: string }[]; routes: { prefix: string; via: number }[] };
const NAT = nfConfig('nat', 1000) as { inside: string; public_ip: string };

/** Packets per second OVS sends from the pcap (replayed without end) into net_null through the
 *  peer's tables (ovsFlows), its PMD on `pmdCpu`. */
export async function ovsPps(peer: 'forward' | 'chain3', pcap: string, scratch: string, pmdCpu: number, warmupS: number, seconds: number): Promise<number> {
  const dir = join(scratch, 'ovs');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const prefix = `netvm-bench-ovs-${process.pid}`;
  const env = { ...process.env, OVS_RUNDIR: dir, OVS_LOGDIR: dir, OVS_DBDIR: dir };
  const db = `unix:${join(dir, 'db.sock')}`;
  const run = (tool: string, args: string[]): string => execFileSync(tool, args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const vsctl = (...args: string[]): string => run('ovs-vsctl', [`--db=${db}`, '--timeout=20', ...args]);
  const daemons: ChildProcess[] = [];
  const start = (cmd: string, args: string[]): void => {
    daemons.push(spawn(cmd, args, { env, stdio: 'ignore' }));
  };
  try {
    run('ovsdb-tool', ['create', join(dir, 'conf.db'), SCHEMA]);
    start('ovsdb-server', [join(dir, 'conf.db'), `--remote=p${db}`, `--unixctl=${join(dir, 'ovsdb.ctl')}`, `--log-file=${join(dir, 'ovsdb.log')}`, '--no-chdir']);
    for (let i = 0; i < 100 && !existsSync(join(dir, 'db.sock')); i++) await sleep(50);
    vsctl('--no-wait', 'init');
    vsctl('--no-wait', 'set', 'Open_vSwitch', '.', 'other_config:dpdk-init=true', `other_config:dpdk-extra=--in-memory --no-pci --file-prefix=${prefix}`,
      'other_config:dpdk-socket-mem=128', 'other_config:dpdk-lcore-mask=0x1', `other_config:pmd-cpu-mask=${(1 << pmdCpu).toString(16)}`);
    start(VSWITCHD, [db, `--unixctl=${join(dir, 'vswitchd.ctl')}`, `--log-file=${join(dir, 'vswitchd.log')}`, '--no-chdir']);
    vsctl('add-br', 'br0', '--', 'set', 'bridge', 'br0', 'datapath_type=netdev');
    vsctl('add-port', 'br0', 'in', '--', 'set', 'Interface', 'in', 'type=dpdk', `options:dpdk-devargs=net_pcap0,rx_pcap=${pcap},infinite_rx=1`);
    vsctl('add-port', 'br0', 'out', '--', 'set', 'Interface', 'out', 'type=dpdk', 'options:dpdk-devargs=net_null0,no-rx=1');
    const bridge = `unix:${join(dir, 'br0.mgmt')}`;
    run('ovs-ofctl', ['del-flows', bridge]);
    const flowFile = join(dir, 'flows.txt');
    writeFileSync(flowFile, `${ovsFlows(peer).join('\n')}\n`);
    run('ovs-ofctl', ['-O', 'OpenFlow13', 'add-flows', bridge, flowFile]);
    const sent = (): number => Number(/tx pkts=(\d+)/.exec(run('ovs-ofctl', ['dump-ports', bridge, 'out']))?.[1] ?? NaN);
    await sleep(warmupS * 1000);
    const before = sent();
    const t0 = performance.now();
    await sleep(seconds * 1000);
    const pps = (sent() - before) / ((performance.now() - t0) / 1000);
    if (!(pps > 0)) throw new Error(`OVS sent nothing (its log: ${join(dir, 'vswitchd.log')})`);
    // The chain's NAT ran: conntrack holds the flows, translated to the public address.
    if (peer === 'chain3' && !run('ovs-appctl', ['-t', join(dir, 'vswitchd.ctl'), 'dpctl/dump-conntrack']).includes(`dst=${NAT.public_ip}`)) {
      throw new Error('OVS sent packets, but conntrack holds no flow translated to the public address: its NAT did not run');
    }
    return pps;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`OVS-DPDK: ${e.stderr?.trim() || e.message}`);
  } finally {
    for (const d of daemons.reverse()) {
      const closed = new Promise((r) => d.on('close', r));
      d.kill('SIGKILL');
      await closed;
    }
    removeRuntimeDir(`/var/run/dpdk/${prefix}`);
  }
}
