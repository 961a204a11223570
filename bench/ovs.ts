// A peer (issue 23): Open vSwitch with DPDK (Debian's openvswitch-switch-dpdk),
// run by the bench on its own: an ovsdb-server and an ovs-vswitchd-dpdk with
// their database and sockets in a scratch folder, a netdev bridge whose two
// dpdk ports take the chain points' devargs (a replayed pcap into net_null),
// one PMD core, and the forwarding written as OpenFlow. What it sent is read
// from the out port's OpenFlow counters (`ovs-ofctl dump-ports`); both daemons
// are stopped and what they leave removed.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { removeRuntimeDir } from '../host/dataplane/driver.js';

const VSWITCHD = '/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk';
const SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Whether Open vSwitch with DPDK is installed (scripts/setup installs it). */
export const hasOvs = (): boolean => existsSync(VSWITCHD) && existsSync(SCHEMA);

/** Packets per second OVS forwards from the pcap (replayed without end) into net_null, its PMD
 *  on `pmdCpu`, the bridge's one OpenFlow rule: in_port=in, actions=output:out. */
export async function ovsForwardPps(pcap: string, scratch: string, pmdCpu: number, warmupS: number, seconds: number): Promise<number> {
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
    run('ovs-ofctl', ['add-flow', bridge, 'in_port=in,actions=output:out']);
    const sent = (): number => Number(/tx pkts=(\d+)/.exec(run('ovs-ofctl', ['dump-ports', bridge, 'out']))?.[1] ?? NaN);
    await sleep(warmupS * 1000);
    const before = sent();
    const t0 = performance.now();
    await sleep(seconds * 1000);
    const pps = (sent() - before) / ((performance.now() - t0) / 1000);
    if (!(pps > 0)) throw new Error(`OVS forwarded nothing (its log: ${join(dir, 'vswitchd.log')})`);
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
