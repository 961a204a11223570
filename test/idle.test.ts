// Adaptive polling (native-dpdk/idle.c): a data plane with nothing to do naps
// on its poll lcore (or, on net_tap ports, sleeps on their RX interrupts) and
// sleeps on its worker, and the next frame still comes out, every one; with
// --busy-poll both threads spin. Real kernel traffic: a probe frame after every
// quiet spell, sent into a veth whose other end netvm reads with net_af_packet,
// or into a net_tap port's kernel side (bench/idle.ts, bench/wake.c). The
// shares of a core are far apart by design (a few percent, under one with RX
// interrupts, against a whole core): the test checks which side of a line
// each is on, not a speed.
import t from 'tap';
import { join } from 'node:path';
import { ProbeLinks } from '../bench/idle.js';
import { idleConfig } from '../bench/matrix.js';
import { REPO_ROOT } from './support/fixtures.js';
import { startNetvm } from './support/netvm.js';

const MODULES = join(REPO_ROOT, 'nf-modules/build');
const PROBES = 4;

const CASES = [
  { name: 'idle, the poll lcore naps and the worker sleeps; every frame after a quiet spell still comes out', link: 'veth', busy: false },
  { name: 'idle on net_tap ports, the poll lcore sleeps on their RX interrupts; every frame still comes out', link: 'tap', busy: false },
  { name: '--busy-poll: both threads spin while idle, and frames go through', link: 'veth', busy: true },
] as const;

for (const c of CASES) {
  t.test(c.name, async (t) => {
    const links = new ProbeLinks(c.link);
    t.teardown(() => links.remove());
    const run = startNetvm(idleConfig(MODULES, links.ports()), ['--duration', '4', '--warmup', '1', '--control', 'off', ...(c.busy ? ['--busy-poll'] : [])]);
    await run.waitFor(/\[\s*1s\]/);
    const rtts = await links.probe(PROBES);
    const r = await run.done;
    t.equal(r.code, 0, r.stderr);
    t.ok(rtts.every((us) => us !== undefined), `every probe came back (${rtts.map((us) => (us === undefined ? 'lost' : `${us.toFixed(0)} us`)).join(', ')})`);
    const s = r.summary!;
    // A tap's kernel side may send a frame of its own as it comes up (IPv6): forwarded too.
    if (c.link === 'veth') t.equal(s.ports[0]!.rx, PROBES, 'netvm received the probes and nothing else');
    else t.ok(s.ports[0]!.rx >= PROBES, `netvm received the probes (${s.ports[0]!.rx} frames)`);
    t.equal(s.ports[1]!.tx, s.ports[0]!.rx, 'and sent every one');
    t.equal(s.pool.available, s.pool.mbufs, 'the pool is full again');
    const share = (name: RegExp): number => s.window!.threads.filter((th) => name.test(th.name)).reduce((n, th) => n + th.share, 0);
    const [poll, worker] = [share(/^rte-worker|^lcore-worker/), share(/^netvm-worker/)];
    const shares = `poll lcore ${(poll * 100).toFixed(1)}%, worker ${(worker * 100).toFixed(1)}% of a core`;
    if (c.busy) t.ok(poll > 0.5 && worker > 0.5, `both spin: ${shares}`);
    else if (c.link === 'tap') t.ok(poll < 0.025 && worker < 0.5, `the poll lcore sleeps (no naps: they cost 4% and more), the worker too: ${shares}`);
    else t.ok(poll < 0.5 && worker < 0.5, `both back off: ${shares}`);
  });
}
