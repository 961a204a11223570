// net_af_xdp ports (issue 18): an XDP socket on a veth whose other end is in a
// network namespace of its own, real kernel traffic sent there from a raw
// socket. The driver receives into a mempool of its own (the kernel writes
// frames into it as the socket's memory) and the poll loop copies each frame
// into the pool; what it sends it copies into its socket's memory. 10,000
// frames of mixed sizes (60 to 1522 bytes; IPv4 and IPv6, untagged, 802.1Q
// and QinQ, ARP and malformed) go through firewall -> ttl and out of another
// XDP socket: every frame comes out as the references say, in order, counted,
// and the pool is full at the end.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { addVethPair } from '../bench/idle.js';
import { REPO_ROOT } from './support/fixtures.js';
import { sendFrames, startReceiver } from './support/raw-socket.js';
import { FW_TTL_FIREWALL, fwTtlTraffic } from './support/fw-ttl-traffic.js';
import { startNetvm, tempDir } from './support/netvm.js';

const ns = `nvxdp${process.pid}`;
const [hostIn, peerIn, hostOut, peerOut] = ['nvxa', 'nvxb', 'nvxc', 'nvxd'].map((p) => `${p}${process.pid}`.slice(0, 15));
const sh = (...args: string[]): string => execFileSync(args[0]!, args.slice(1), { encoding: 'utf8' });
const FRAMES = 10_000;


t.test('10,000 frames through firewall -> ttl between two XDP sockets, every one as the references say', async (t) => {
  sh('ip', 'netns', 'add', ns);
  t.teardown(() => void sh('ip', 'netns', 'del', ns)); // the veth pairs go with it
  for (const [host, peer] of [[hostIn, peerIn], [hostOut, peerOut]] as const) {
    addVethPair(ns, host!, peer!);
    // Room for a QinQ frame of 1522 bytes.
    sh('ip', 'link', 'set', host!, 'mtu', '1508');
    sh('ip', 'netns', 'exec', ns, 'ip', 'link', 'set', peer!, 'mtu', '1508');
  }
  const { frames, expected } = fwTtlTraffic(FRAMES);
  const dir = tempDir();
  const receiver = await startReceiver(ns, peerOut!, dir);
  const run = startNetvm({
    cores: { poll: 1, workers: [0] },
    ports: { in: `net_af_xdp0,iface=${hostIn}`, out: `net_af_xdp1,iface=${hostOut}` },
    nfs: {
      fw: { module: join(REPO_ROOT, 'nf-modules/build/firewall.wasm'), config: FW_TTL_FIREWALL },
      ttl: { module: join(REPO_ROOT, 'nf-modules/build/ttl.wasm') },
    },
    chains: [{ from: 'in', through: ['fw', 'ttl'], to: 'out' }],
  }, ['--until-idle', '2000', '--control', 'off'], dir);
  await run.waitFor(/(^|\n)\[/);
  sendFrames(ns, peerIn!, frames, dir);
  const r = await run.done;
  const out = await receiver.stop();
  t.equal(r.code, 0, r.stderr);
  const s = r.summary!;
  const chain = s.chains[0]!;
  t.equal(s.ports[0]!.rx, FRAMES, 'every frame sent was received');
  t.equal(chain.in, FRAMES);
  t.equal(s.ports[1]!.tx, expected.length, 'as many went out as the references let through');
  t.equal(out.length, expected.length, 'and as many arrived at the other end');
  t.same(out, expected, 'each as the references say, in order');
  t.equal(s.unaccounted, 0, 'in = out + counted drops');
  t.equal(s.pool.available, s.pool.mbufs, 'the pool is full again');
});
