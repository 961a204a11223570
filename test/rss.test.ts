// A port whose device spreads flows over several RX queues by a symmetric
// hash is steered by queue, with no hash of its own in the poll loop: here
// net_af_packet with qpairs=2 on a veth, whose queues the kernel fills by its
// (symmetric) flow hash (PACKET_FANOUT_HASH). Real kernel traffic, from a
// raw socket in a network namespace: a stateful firewall on 2 workers must
// let exactly the reference's packets through, each flow in order, both
// queues used.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './support/fixtures.js';
import { sendFrames } from './support/raw-socket.js';
import { addVethPair } from '../bench/idle.js';
import { byFlow, statefulConversations } from './support/conversations.js';
import { runNetvm, startNetvm, tempDir } from './support/netvm.js';
import { outputFrames } from './support/pcap-ports.js';

const hex = (f: Uint8Array): string => Buffer.from(f).toString('hex');
const ns = `nvrss${process.pid}`;
const host = `nva${process.pid}`.slice(0, 15);
const peer = `nvb${process.pid}`.slice(0, 15);
const sh = (...args: string[]): string => execFileSync(args[0]!, args.slice(1), { encoding: 'utf8' });

/** A veth pair, one end in a namespace of its own; neither end sends anything of its own (no addresses, no IPv6). */
function vethPair(): void {
  sh('ip', 'netns', 'add', ns);
  addVethPair(ns, host, peer);
}

t.test('by RX queue: af_packet qpairs=2, both directions of every flow meet the same firewall instance', async (t) => {
  vethPair();
  t.teardown(() => {
    execFileSync('ip', ['netns', 'del', ns]); // the veth pair goes with it
  });
  const { fw, frames, flowOf, expected } = statefulConversations();
  const dir = tempDir();
  const run = startNetvm({
    cores: { poll: 1, workers: [0] },
    ports: { in: `net_af_packet0,iface=${host},qpairs=2`, out: `net_pcap0,tx_pcap=${join(dir, 'out.pcap')}` },
    nfs: { fw: { module: join(REPO_ROOT, 'nf-modules/build/firewall.wasm'), config: fw } },
    chains: [{ from: 'in', through: ['fw'], to: 'out', workers: 2 }],
  }, ['--until-idle', '3000', '--control', 'off'], dir);
  await run.waitFor(/(^|\n)\[/);
  sendFrames(ns, peer, frames, dir);
  const r = await run.done;
  t.equal(r.code, 0, r.stderr);
  const out = outputFrames(dir).map(hex);
  t.same([...out].sort(), [...expected].sort(), 'exactly the packets the reference lets through');
  t.same(byFlow(out, flowOf), byFlow(expected, flowOf), 'each flow\'s packets in their order');
  const chain = r.summary!.chains[0]!;
  t.equal(chain.in, frames.length, 'every frame sent was received');
  t.equal(chain.replicas.length, 2, 'two replicas');
  for (const rep of chain.replicas) t.ok(rep.in > frames.length / 5, `replica on lane ${rep.lane} took a share by queue (${rep.in})`);
  t.equal(r.summary!.unaccounted, 0);
  t.equal(r.summary!.pool.available, r.summary!.pool.mbufs, 'the pool is full again');

  // Steered by queue, not by hash: a third replica would have no queue.
  const three = await runNetvm({
    cores: { poll: 1, workers: [0] },
    ports: { in: `net_af_packet0,iface=${host},qpairs=2`, out: 'net_null0' },
    nfs: { fw: { module: join(REPO_ROOT, 'nf-modules/build/firewall.wasm'), config: fw } },
    chains: [{ from: 'in', through: ['fw'], to: 'out', workers: 3 }],
  }, ['--until-idle', '100', '--control', 'off']);
  t.not(three.code, 0);
  t.match(three.stderr, /workers 3: its input port spreads flows over 2 RX queues \(RSS\): at most 2 workers/);
});
