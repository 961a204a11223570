// Hot-swap on a live data plane, through the control API and the CLI: swaps
// under full load keep every packet accounted for; a NAT's mappings move to
// its new instance; refused swaps leave the old NF running and say why; the
// API refuses calls without its token.
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { writeFlowsPcap } from '../bench/traffic.js';
import { netvm } from './support/cli.js';
import { REPO_ROOT, fixtureNf } from './support/fixtures.js';
import { startNetvm, tempDir, totals } from './support/netvm.js';

const wasm = (name: string): string => join(REPO_ROOT, `nf-modules/build/${name}.wasm`);
const CONTROL = '127.0.0.1:7171';
const ctl = ['--control', CONTROL];
const ready = /\[\s*1s\]/; // forwarding for a second (the control API serves before)
// Runs end by `netvm stop` once a test is done with them; the duration only caps a failed test.
const RUN = ['--duration', '120', ...ctl];

async function stop(t: Tap.Test): Promise<void> {
  const s = await netvm(['stop', ...ctl]);
  t.equal(s.code, 0, `netvm stop: ${s.stderr}`);
}

const TOKEN_FILE = '/run/netvm/control-127.0.0.1-7171.token';

/** A call to the API by hand: with a given Authorization header, or the run's token. */
function get(path: string, auth = `Bearer ${readFileSync(TOKEN_FILE, 'utf8').trim()}`): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: 7171, path, headers: auth ? { authorization: auth } : {} }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

t.test('swaps under full load: every packet accounted for, the pool full again', async (t) => {
  const config = {
    cores: { poll: 1, workers: [0] },
    ports: { src: 'net_null0,size=60,copy=1', sink: 'net_null1,size=60' },
    nfs: { fw: { module: wasm('firewall'), config: { default: 'allow' } }, step: { module: wasm('ttl') } },
    chains: [{ from: 'src', through: ['fw', 'step'], to: 'sink' }],
  };
  const run = startNetvm(config, RUN);
  await run.waitFor(ready);
  const swaps = [
    ['step', wasm('forward')], ['fw', wasm('firewall')], ['step', wasm('ttl')], ['step', wasm('forward')],
  ];
  // Forwarding goes on between swaps: the packets sent, before each swap and at the end, only grow.
  const sent: number[] = [];
  const sentNow = async (): Promise<number> => (JSON.parse((await get('/v1/stats')).body) as { ports: { tx: number }[] }).ports[1]!.tx;
  for (const [nf, module] of swaps) {
    sent.push(await sentNow());
    const s = await netvm(['swap', nf!, module!, ...ctl]);
    t.equal(s.code, 0, s.stderr);
    t.match(s.stdout, new RegExp(`swapped nf ${nf} to .*: started empty: .*; the data path paused \\d+ us`));
    await new Promise((r) => setTimeout(r, 100));
  }
  sent.push(await sentNow());
  const status = await netvm(['status', ...ctl]);
  t.match(status.stdout, `nf step: ${wasm('forward')} (chain src->sink, position 1)`);
  t.match(status.stdout, `nf fw: ${wasm('firewall')} (chain src->sink, position 0)`);
  await stop(t);
  const r = await run.done;
  t.equal(r.code, 0, r.stderr);
  const s = r.summary!;
  const { rx, tx, drops } = totals(s);
  t.ok(sent.every((n, i) => i === 0 || n > sent[i - 1]!), `packets sent before every swap and after the last (${sent.join(', ')})`);
  t.equal(rx, tx + drops, 'in = out + counted drops, across four swaps');
  t.equal(s.unaccounted, 0);
  t.equal(s.pool.available, s.pool.mbufs, 'the pool is full again');
  const [fw, step] = s.chains[0]!.nfs;
  t.equal(fw!.dropped + step!.dropped, 0, 'no verdict drops before, during or after the swaps');
  t.equal(step!.in, fw!.next, 'the swapped NF\'s counters go on across its instances');
  t.match(r.stderr, 'nf step now runs', 'the run logs the swap');
  t.notOk(r.leftRuntimeDir);
});

t.test('a swap whose new instance configures for longer than the watchdog allows is not a hang', async (t) => {
  const config = {
    cores: { poll: 1, workers: [0] },
    ports: { src: 'net_null0,size=60,copy=1', sink: 'net_null1,size=60' },
    nfs: { fw: { module: wasm('forward') } },
    chains: [{ from: 'src', through: ['fw'], to: 'sink' }],
    watchdog_ms: 100,
  };
  const dir = tempDir();
  writeFileSync(join(dir, 'any.json'), '{}'); // configure is called with a config only
  const run = startNetvm(config, RUN, dir);
  await run.waitFor(ready);
  const s = await netvm(['swap', 'fw', await fixtureNf('slow-configure'), '--config', join(dir, 'any.json'), ...ctl]);
  t.equal(s.code, 0, s.stderr);
  const builtUs = Number(/and (\d+) us a turn before to build the new instance/.exec(s.stdout)?.[1]);
  t.ok(builtUs > 300_000, `the worker stood still ${builtUs} us to build it, three times its 100 ms watchdog`);
  const pausedUs = Number(/the data path paused (\d+) us for the handover/.exec(s.stdout)?.[1]);
  t.ok(pausedUs < builtUs / 10, `the handover, a turn later, is not the build (${pausedUs} us)`);
  await stop(t);
  const r = await run.done;
  t.equal(r.code, 0, r.stderr);
  t.same(r.summary!.hangs, [], 'no worker restarted');
  t.equal(r.summary!.chains[0]!.nfs[0]!.hung, 0, 'nothing counted as hung');
  t.equal(r.summary!.ports[0]!.rx_ring_full, 0, 'meanwhile the port was held back: nothing dropped at the ring');
  const { rx, tx, drops } = totals(r.summary!);
  t.equal(rx, tx + drops, 'in = out + counted drops');
});

t.test('a NAT\'s mappings survive its swap; a module without state starts empty', async (t) => {
  const dir = tempDir();
  const pcap = join(dir, 'flows.pcap');
  writeFlowsPcap(pcap, 64, 100);
  const natConfig = { inside: '10.0.0.0/8', public_ip: '203.0.113.1' };
  writeFileSync(join(dir, 'nat.json'), JSON.stringify(natConfig));
  const config = {
    cores: { poll: 1, workers: [0] },
    ports: { src: `net_pcap0,rx_pcap=${pcap},infinite_rx=1`, sink: 'net_null0,size=60' },
    nfs: { nat: { module: wasm('nat'), config: natConfig } },
    chains: [{ from: 'src', through: ['nat'], to: 'sink' }],
  };
  const run = startNetvm(config, RUN, dir);
  await run.waitFor(ready);
  const handed = await netvm(['swap', 'nat', wasm('nat'), '--config', join(dir, 'nat.json'), ...ctl]);
  t.equal(handed.code, 0, handed.stderr);
  t.match(handed.stdout, /swapped nf nat to .*nat\.wasm: its state handed over \(\d+ bytes\)/);
  await new Promise((r) => setTimeout(r, 1000)); // metrics are copied out every 100 ms
  const stats = await get('/v1/stats');
  t.equal(stats.status, 200);
  const m = (JSON.parse(stats.body) as { chains: { nfs: { metrics: Record<string, number> }[] }[] }).chains[0]!.nfs[0]!.metrics;
  t.equal(m['imported_mappings'], 100, 'the new instance took all 100 mappings');
  t.equal(m['new_mappings'], 0, 'and made none: every flow found its mapping');
  t.ok(m['translated_out']! > 0, 'and translates');
  const cli = await netvm(['stats', ...ctl]);
  t.match(cli.stdout, /chain src->sink: in \d+, out \d+, dropped 0; its own work [\d.]+ ns a packet\n    nf nat: in \d+, [\d.]+ ns a packet/, "netvm stats: the worker's time a packet on the chain and on its NF");
  // Without --config the new instance takes the config the NF runs with, and so the state.
  const kept = await netvm(['swap', 'nat', wasm('nat'), ...ctl]);
  t.equal(kept.code, 0, kept.stderr);
  t.match(kept.stdout, /swapped nf nat to .*nat\.wasm: its state handed over \(\d+ bytes\)/, 'a swap without --config keeps the running config');
  const empty = await netvm(['swap', 'nat', wasm('forward'), ...ctl]);
  t.match(empty.stdout, /started empty: .*forward\.wasm does not import state/);
  await stop(t);
  const r = await run.done;
  t.equal(r.code, 0, r.stderr);
  const nat = r.summary!.chains[0]!.nfs[0]!;
  t.equal(nat.dropped, 0);
  t.equal(r.summary!.pool.available, r.summary!.pool.mbufs);
  // The metrics in the summary are forward's now; the second instance's were seen live.
  t.match(r.stderr, 'nf nat now runs', 'the run logs the swap');
});

t.test('refused swaps keep the old NF running and say why', async (t) => {
  const dir = tempDir();
  const pcap = join(dir, 'flows.pcap');
  writeFlowsPcap(pcap, 64, 50);
  const config = {
    cores: { poll: 1, workers: [0] },
    ports: { src: `net_pcap0,rx_pcap=${pcap},infinite_rx=1`, sink: 'net_null0,size=60' },
    nfs: { nat: { module: wasm('nat'), config: { inside: '10.0.0.0/8', public_ip: '203.0.113.1' } } },
    chains: [{ from: 'src', through: ['nat'], to: 'sink' }],
  };
  const run = startNetvm(config, RUN, dir);
  await run.waitFor(ready);
  const refused = async (args: string[], reason: RegExp): Promise<void> => {
    const s = await netvm(['swap', 'nat', ...args, ...ctl]);
    t.equal(s.code, 1, `refused: ${args.join(' ')}`);
    t.match(s.stderr, /netvm: swap refused, nf nat keeps running its old module: /);
    t.match(s.stderr, reason);
  };
  await refused([join(dir, 'missing.wasm')], /missing\.wasm/);
  await refused([await fixtureNf('abi-v99')], /speaks NetVM ABI version 99; this host speaks versions 1 and 2/);
  writeFileSync(join(dir, 'bad.json'), JSON.stringify({ inside: 'nowhere', public_ip: '203.0.113.1' }));
  await refused([wasm('nat'), '--config', join(dir, 'bad.json')], /refused its config \(status 1\): config: inside: 'nowhere' is not an IPv4 prefix/);
  await refused([await fixtureNf('import-trap')], /trapped in netvm_state_import/);
  await refused([join(REPO_ROOT, 'dist/bench/js-nfs/forward.js')], /a JavaScript NF runs from the start of a run: it cannot be swapped or applied in/);
  const status = await netvm(['status', ...ctl]);
  t.match(status.stdout, `nf nat: ${wasm('nat')} (chain src->sink, position 0)`, 'the old module still runs');
  await stop(t);
  const r = await run.done;
  t.equal(r.code, 0, r.stderr);
  t.ok(r.summary!.seconds < 60, 'netvm stop ended the run');
  t.equal(r.summary!.chains[0]!.nfs[0]!.metrics['new_mappings'], 50, 'the first instance ran all along');
  t.equal(r.summary!.pool.available, r.summary!.pool.mbufs);
});

t.test('the API wants its token', async (t) => {
  const config = {
    cores: { poll: 1, workers: [0] },
    ports: { src: 'net_null0,size=60', sink: 'net_null1,size=60' },
    nfs: { fwd: { module: wasm('forward') } },
    chains: [{ from: 'src', through: ['fwd'], to: 'sink' }],
  };
  const run = startNetvm(config, RUN);
  await run.waitFor(ready);
  t.equal(readFileSync(TOKEN_FILE, 'utf8').trim().length, 64);
  const none = await get('/v1/status', '');
  t.equal(none.status, 401);
  t.match(none.body, /a bearer token is needed: the one in \/run\/netvm\/control-127\.0\.0\.1-7171\.token/);
  t.equal((await get('/v1/status', 'Bearer 0123')).status, 401, 'a wrong token');
  t.equal((await get('/v1/status')).status, 200);
  const unknown = await get('/v1/nope');
  t.equal(unknown.status, 404);
  const noNf = await netvm(['swap', 'ghost', wasm('forward'), ...ctl]);
  t.match(noNf.stderr, /no NF named 'ghost' \(running: fwd\)/);
  await stop(t);
  const r = await run.done;
  t.equal(r.code, 0);
  t.throws(() => readFileSync(TOKEN_FILE), 'the token goes with the run');
  const after = await netvm(['status', ...ctl]);
  t.equal(after.code, 1);
  t.match(after.stderr, /no netvm run serves http:\/\/127\.0\.0\.1:7171/);
});
