// GET /metrics: the Prometheus text of a running data plane, behind the same
// token as every call. Its numbers are the ones /v1/stats gives (read from the
// same shared counters), in Prometheus's conventions: units in the names,
// counters ending in _total, a histogram for latency; swaps are counted as
// events, done or refused.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { controlCall } from '../host/api/client.js';
import { parseControlAddress, tokenPath } from '../host/api/api.js';
import { REPO_ROOT } from './support/fixtures.js';
import { startNetvm, tempDir } from './support/netvm.js';
import { TRAFFIC, inputFrames } from './support/pcap-ports.js';

const CONTROL = '127.0.0.1:7174';
const address = parseControlAddress(CONTROL)!;
const FIREWALL = join(REPO_ROOT, 'nf-modules/build/firewall.wasm');

function scrape(token: string | undefined): Promise<{ status: number; type: string; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: 7174, path: '/metrics', headers: token === undefined ? {} : { authorization: `Bearer ${token}` } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), text }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The value of the one sample of `name` whose labels include all of `labels`. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const found = text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .filter((l) => Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
  if (found.length !== 1) throw new Error(`${found.length} samples of ${name} ${JSON.stringify(labels)}`);
  return Number(found[0]!.split(' ').at(-1));
}

t.test('GET /metrics: the stats in Prometheus text, with the token only', async (t) => {
  const dir = tempDir();
  const run = startNetvm({
    cores: { poll: 1, workers: [0] },
    ports: { in: `net_pcap0,rx_pcap=${TRAFFIC}`, out: 'net_null0' },
    nfs: { fw: { module: FIREWALL, config: { default: 'allow', rules: [{ action: 'deny', proto: 'udp', dport: 53 }] } }, ttl: { module: join(REPO_ROOT, 'nf-modules/build/ttl.wasm') } },
    chains: [{ name: 'main', from: 'in', through: ['fw', 'ttl'], to: 'out' }],
  }, ['--duration', '60', '--latency', '--control', CONTROL], dir);
  await run.waitFor(/control API on/);
  const frames = inputFrames().length;
  for (let i = 0; i < 100; i++) {
    const stats = await controlCall(address, 'GET', '/v1/stats'); // 503 while it starts
    if (stats.status === 200 && (stats.body['ports'] as { rx: number }[])[0]!.rx === frames) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 300)); // the last bursts back from the worker

  t.equal((await scrape(undefined)).status, 401, 'without the token: refused');
  t.equal((await scrape('0'.repeat(64))).status, 401, 'with a wrong one: refused');
  const token = readFileSync(tokenPath(address), 'utf8').trim();
  const { status, type, text } = await scrape(token);
  t.equal(status, 200);
  t.match(type, /^text\/plain; version=0\.0\.4/);
  const stats = (await controlCall(address, 'GET', '/v1/stats')).body as {
    ports: { name: string; rx: number; tx: number; rx_multiseg: number; rx_held_us: number }[];
    chains: { host_ns: number; nfs: { name: string; in: number; dropped: number; busy_ns: number; metrics: Record<string, number> }[] }[];
    pool: { mbufs: number; available: number };
  };

  t.equal(sample(text, 'netvm_port_rx_packets_total', { port: 'in' }), frames, 'every frame of the pcap, received');
  t.equal(sample(text, 'netvm_port_tx_packets_total', { port: 'out' }), stats.ports[1]!.tx, 'sent: as /v1/stats says');
  t.equal(sample(text, 'netvm_port_dropped_packets_total', { port: 'in', reason: 'multi_segment' }), stats.ports[0]!.rx_multiseg);
  t.equal(sample(text, 'netvm_port_rx_held_seconds_total', { port: 'in' }), stats.ports[0]!.rx_held_us / 1e6, 'time held back: as /v1/stats says');
  const fw = stats.chains[0]!.nfs[0]!;
  t.equal(sample(text, 'netvm_nf_in_packets_total', { chain: 'main', nf: 'fw' }), fw.in);
  t.equal(sample(text, 'netvm_nf_dropped_packets_total', { chain: 'main', nf: 'fw', reason: 'verdict' }), fw.dropped);
  t.ok(fw.dropped > 0, 'the firewall dropped DNS');
  t.equal(sample(text, 'netvm_nf_metric', { chain: 'main', nf: 'fw', metric: 'denied_by_rule' }), fw.metrics['denied_by_rule'], 'the NF\'s own SDK metrics');
  t.ok(fw.busy_ns > 0 && stats.chains[0]!.host_ns > 0, 'the worker\'s time on the NF and on the chain\'s own work, measured');
  t.equal(sample(text, 'netvm_nf_busy_seconds_total', { chain: 'main', nf: 'fw' }), fw.busy_ns / 1e9, 'time on the NF: as /v1/stats says');
  t.equal(sample(text, 'netvm_chain_host_seconds_total', { chain: 'main' }), stats.chains[0]!.host_ns / 1e9, 'the chain\'s own time: as /v1/stats says');
  t.equal(sample(text, 'netvm_lane_in_flight_packets', { chain: 'main' }), 0, 'the worker holds nothing once the input is done');
  t.equal(sample(text, 'netvm_pool_mbufs'), stats.pool.mbufs);
  t.equal(sample(text, 'netvm_pool_mbufs_in_use'), stats.pool.mbufs - stats.pool.available);
  t.ok(sample(text, 'netvm_thread_cpu_seconds_total', { thread: 'netvm-worker0' }) > 0, 'the worker\'s CPU time');
  t.ok(sample(text, 'netvm_worker_loop_turns_total', { cpu: '0', found: 'packets' }) > 0, 'turns of its loop that ran bursts');
  t.ok(sample(text, 'netvm_worker_loop_turns_total', { cpu: '0', found: 'nothing' }) > 0, 'and idle ones, since the input ended');
  t.equal(sample(text, 'netvm_latency_seconds_count'), stats.ports[1]!.tx, 'a latency sample per packet sent');
  t.equal(sample(text, 'netvm_latency_seconds_bucket', { le: '+Inf' }), stats.ports[1]!.tx);

  // Prometheus conventions: every counter is named ..._total, every family has HELP and TYPE.
  const types = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => ({ name: m[1]!, type: m[2]! }));
  t.ok(types.length >= 15, `${types.length} metric families`);
  t.same(types.filter((f) => f.type === 'counter' && !f.name.endsWith('_total')), [], 'counters end in _total');
  t.same(types.filter((f) => !text.includes(`# HELP ${f.name} `)), [], 'each family has its HELP');

  const swapped = await controlCall(address, 'POST', '/v1/nfs/ttl/swap', { module: join(REPO_ROOT, 'nf-modules/build/ttl.wasm') });
  t.equal(swapped.status, 200);
  const refused = await controlCall(address, 'POST', '/v1/nfs/ttl/swap', { module: join(dir, 'missing.wasm') });
  t.equal(refused.status, 422);
  const after = (await scrape(token)).text;
  t.equal(sample(after, 'netvm_events_total', { kind: 'swap', outcome: 'done' }), 1, 'the swap, counted');
  t.equal(sample(after, 'netvm_events_total', { kind: 'swap', outcome: 'refused' }), 1, 'and the refused one');

  await controlCall(address, 'POST', '/v1/stop');
  const r = await run.done;
  t.equal(r.code, 0, r.stderr);
});
