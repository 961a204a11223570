// Hostile NF modules (test/hard/hostile/): each is refused at load with its
// reason, or runs and is contained at run time with its reason, while a healthy
// chain on the same worker keeps forwarding every packet; nothing is lost
// uncounted. Then modules made here: one too large, one not Wasm at all, and
// garbage state handed to every shipped NF that takes state.
import t from 'tap';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { MAX_MODULE_BYTES } from '../../host/nf/abi.js';
import { createNfInstance, importState } from '../../host/nf/instance.js';
import { loadNfModule } from '../../host/nf/module.js';
import { readPcap } from '../../host/pcap/index.js';
import { netvm } from '../support/cli.js';
import { REPO_ROOT } from '../support/fixtures.js';
import { reportClass, talliedTest, type ClassTally } from '../support/hard.js';
import { runNetvm, startNetvm, tempDir, totals, type RunResult } from '../support/netvm.js';
import { DATA_ROOM, TRAFFIC, inputFrames } from '../support/pcap-ports.js';
import { watModule } from '../support/wat.js';

const FOLDER = join(REPO_ROOT, 'test/hard/hostile');
const FORWARD = join(REPO_ROOT, 'nf-modules/build/forward.wasm');
const OUTCOMES = ['refused', 'config-refused', 'state-refused', 'trapped', 'hung', 'dropped', 'contained'] as const;
type Outcome = (typeof OUTCOMES)[number];

interface HostileCase {
  name: string;
  source: string;
  expect: Outcome;
  reason: RegExp;
  heapMb?: number;
}

/** A case's expectation, from its header: `;; expect: <outcome>`, `;; reason: <regex>`, `;; heap_mb: <n>`. */
function hostileCase(source: string): HostileCase {
  const header = (key: string): string | undefined => new RegExp(`^;; ${key}: (.*)$`, 'm').exec(readFileSync(source, 'utf8'))?.[1];
  const expect = header('expect') as Outcome | undefined;
  const reason = header('reason');
  if (expect === undefined || !OUTCOMES.includes(expect) || reason === undefined) throw new Error(`${source}: needs ';; expect: <${OUTCOMES.join('|')}>' and ';; reason: <regex>'`);
  const heapMb = header('heap_mb');
  return { name: basename(source, '.wat'), source, expect, reason: new RegExp(reason), ...(heapMb !== undefined && { heapMb: Number(heapMb) }) };
}

const cases = readdirSync(FOLDER).filter((f) => f.endsWith('.wat')).sort().map((f) => hostileCase(join(FOLDER, f)));
const fitting = inputFrames().filter((f) => f.length <= DATA_ROOM);
const tally: ClassTally = { tried: 0, contained: 0, lost: 0 };

/** The hostile NF's chain, next to a healthy forward chain on the same worker. */
function runConfig(dir: string, c: HostileCase, wasm: string): object {
  return {
    cores: { poll: 1, workers: [0] },
    watchdog_ms: 100,
    ports: {
      src: 'net_null0,size=64,copy=1', sink: 'net_null1',
      src2: `net_pcap1,rx_pcap=${TRAFFIC}`, sink2: `net_pcap2,tx_pcap=${join(dir, 'healthy.pcap')}`,
    },
    nfs: {
      hostile: { module: wasm, ...(c.expect === 'config-refused' && { config: { any: 1 } }), ...(c.heapMb !== undefined && { limits: { heap_mb: c.heapMb } }) },
      fwd: { module: FORWARD },
    },
    chains: [
      { name: 'hostile', from: 'src', through: ['hostile'], to: 'sink' },
      { name: 'healthy', from: 'src2', through: ['fwd'], to: 'sink2' },
    ],
  };
}

for (const c of cases) {
  talliedTest(t, tally, `${c.name}: ${c.expect}`, async (t) => {
    const dir = tempDir();
    const wasm = await watModule(c.source);
    if (c.expect === 'state-refused') {
      const r = await netvm(['nf', 'test', wasm, '--pcap', TRAFFIC, '--state-out', join(dir, 'state.json')]);
      t.equal(r.code, 2, 'nf test refuses it');
      t.match(r.stderr, c.reason);
    } else if (c.expect === 'refused' || c.expect === 'config-refused') {
      const r = await runNetvm(runConfig(dir, c, wasm), ['--until-idle', '300', '--control', 'off'], dir);
      t.equal(r.code, 2, 'the run is refused');
      t.match(r.stderr, `nfs.hostile.${c.expect === 'refused' ? 'module' : 'config'}: `);
      t.match(r.stderr, c.reason);
      t.notOk(r.leftRuntimeDir, 'nothing started: no DPDK runtime folder');
      t.equal(r.summary, undefined, 'no stats: nothing ran');
    } else {
      // An NF that keeps trapping or hanging: the run goes on until it is marked failed (however
      // long its restarts take on a busy machine), and a moment after; the others run 3 s.
      let r: RunResult;
      if (c.expect === 'trapped' || c.expect === 'hung') {
        const run = startNetvm(runConfig(dir, c, wasm), ['--duration', '60', '--control', 'off'], dir);
        await run.waitFor(/nf hostile FAILED/, 50_000).catch(() => {});
        await new Promise((resolve) => setTimeout(resolve, 500));
        run.kill('SIGTERM');
        r = await run.done;
      } else {
        r = await runNetvm(runConfig(dir, c, wasm), ['--duration', '3', '--control', 'off'], dir);
      }
      t.equal(r.code, 0, 'the run ends normally');
      const s = r.summary!;
      const [hostile, healthy] = s.chains;
      const nf = hostile!.nfs[0]!;
      t.match(r.stdout + r.stderr, c.reason);
      if (c.expect === 'trapped' || c.expect === 'hung') {
        t.same(s.failed, ['hostile'], `marked failed: its chain drops its packets (${nf.fail_dropped})`);
        t.ok(nf.fail_dropped > 0);
      }
      if (c.expect === 'trapped') t.ok(s.traps.some((trap) => trap.nf === 'hostile'), `trapped (${nf.trap_batches} bursts, ${nf.trapped} packets)`);
      if (c.expect === 'hung') t.ok(nf.hung > 0 && s.hangs.length === 5, `hung 5 times (${nf.hung} packets)`);
      if (c.expect === 'dropped') {
        t.ok(nf.bad_verdict > 0 && nf.bad_length > 0, `bad verdicts ${nf.bad_verdict}, bad lengths ${nf.bad_length}`);
        t.equal(nf.bad_verdict + nf.bad_length, nf.in, 'every packet it saw was refused');
      }
      if (c.expect === 'contained') t.equal(nf.next, nf.in, 'its packets went on');
      if (c.expect === 'hung') {
        // Its packets in the burst the terminated worker held are counted, not lost.
        t.ok(healthy!.out > 0, `the healthy chain kept forwarding (${healthy!.out} of ${healthy!.in})`);
        t.equal(healthy!.in, healthy!.out + healthy!.dropped, 'the healthy chain: in = out + counted drops');
      } else {
        const out = readPcap(join(dir, 'healthy.pcap')).packets.map((p) => p.data);
        t.equal(out.length, fitting.length, 'the healthy chain forwarded every packet');
        t.ok(out.every((f, i) => Buffer.compare(f, fitting[i]!) === 0), 'byte for byte');
      }
      const { rx, tx, drops } = totals(s);
      t.equal(rx, tx + drops, 'in = out + counted drops');
      t.equal(s.unaccounted, 0, 'nothing unaccounted');
      t.equal(s.pool.available, s.pool.mbufs, 'the mbuf pool is full again');
      t.notOk(r.leftRuntimeDir);
      tally.lost += Math.abs(s.unaccounted);
    }
  });
}

talliedTest(t, tally, 'a module past the size limit is refused before it is compiled', async (t) => {
  const dir = tempDir();
  const big = join(dir, 'too-large.wasm');
  // A valid module (forward) with a custom section of padding: valid Wasm, too large.
  const pad = MAX_MODULE_BYTES;
  const name = Buffer.from('padding');
  const size = [];
  for (let n = name.length + 1 + pad; ; n >>>= 7) {
    if (n < 0x80) { size.push(n); break; }
    size.push((n & 0x7f) | 0x80);
  }
  writeFileSync(big, Buffer.concat([readFileSync(FORWARD), Buffer.from([0, ...size, name.length]), name, Buffer.alloc(pad)]));
  t.throws(() => loadNfModule(big), { message: `${big}: is ${statSync(big).size} bytes; a module may have at most ${MAX_MODULE_BYTES}` });
});

talliedTest(t, tally, 'a file that is not WebAssembly is refused', async (t) => {
  const path = join(tempDir(), 'noise.wasm');
  writeFileSync(path, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) & 0xff)));
  t.throws(() => loadNfModule(path), { message: /noise.wasm: not a valid WebAssembly module: / });
});

t.test('garbage state is refused by every shipped NF that takes state, without a trap', async (t) => {
  const takers: Record<string, object> = {
    nat: { inside: '10.0.0.0/8', public_ip: '203.0.113.1', ports: '2000-2999' },
    firewall: { default: 'allow', stateful: true },
    lb: { vips: [{ vip: '198.51.100.1', port: 80, proto: 'tcp', backends: [{ name: 'a', mac: '02:00:00:00:00:0a', port: 1 }] }] },
  };
  let seed = 11;
  const rand = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  for (const [name, config] of Object.entries(takers)) {
    const module = loadNfModule(join(REPO_ROOT, `nf-modules/build/${name}.wasm`));
    let refused = 0;
    const trials = 200;
    for (let i = 0; i < trials; i++) {
      // Random bytes, and (every other one) a real header over random contents.
      const garbage = Uint8Array.from({ length: rand(300) }, () => rand(256));
      if (i % 2 === 1 && garbage.length >= 8) garbage.set([0x4e, 0x56, 0x53, 0x54]); // "NVST"
      const nf = createNfInstance(module, name, { config: JSON.stringify(config), log: () => {} });
      try {
        importState(nf, garbage);
      } catch (err) {
        if (/refused the state/.test((err as Error).message)) refused++;
        else t.fail(`${name}: ${(err as Error).message}`);
      }
    }
    tally.tried += trials;
    tally.contained += refused;
    t.equal(refused, trials, `${name}: ${trials} garbage states refused, none trapped`);
  }
});

t.teardown(() => reportClass(t, 'hostile modules', tally));
