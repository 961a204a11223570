// netvm capture: the packets at a hop of a running data plane, into a pcap
// that tcpdump reads. At a port's input they are what arrived; on the link
// between two NFs, what the first passed on; --filter is tcpdump's language;
// --snaplen cuts them; -c stops after that many. Bad hops and filters are
// refused with the reason.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { readPcap, writePcap } from '../host/pcap/index.js';
import { netvm } from './support/cli.js';
import { REPO_ROOT } from './support/fixtures.js';
import { startNetvm, tempDir, totals } from './support/netvm.js';
import { generateTraffic } from './support/traffic.js';

const CONTROL = '127.0.0.1:7175';
const ctl = ['--control', CONTROL];
const hex = (f: Uint8Array): string => Buffer.from(f).toString('hex');

t.test('capture at a port, on the link between two NFs, filtered and cut short', async (t) => {
  const dir = tempDir();
  const frames = generateTraffic().filter((f) => f.length <= 1518); // infinite_rx takes single-buffer frames only
  writePcap(join(dir, 'in.pcap'), frames.map((data) => ({ data })));
  const run = startNetvm({
    cores: { poll: 1, workers: [0] },
    ports: { in: `net_pcap0,rx_pcap=${join(dir, 'in.pcap')},infinite_rx=1`, out: 'net_null0' },
    nfs: {
      fw: { module: join(REPO_ROOT, 'nf-modules/build/firewall.wasm'), config: { default: 'allow', rules: [{ action: 'deny', proto: 'tcp' }] } },
      ttl: { module: join(REPO_ROOT, 'nf-modules/build/ttl.wasm') },
    },
    chains: [{ name: 'main', from: 'in', through: ['fw', 'ttl'], to: 'out' }],
  }, ['--duration', '60', '--rx-pps', '5000', ...ctl], dir);
  await run.waitFor(/(^|\n)\[/); // the first rates: the API answers

  const rx = await netvm(['capture', 'rx:in', '-w', join(dir, 'rx.pcap'), '-c', '100', ...ctl]);
  t.equal(rx.code, 0, rx.stderr);
  t.match(rx.stdout, /^100 packets captured to /);
  // -tt: each packet's first line starts with its time (some packets take more lines).
  const tcpdump = execFileSync('tcpdump', ['-ttnr', join(dir, 'rx.pcap')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  t.equal(tcpdump.split('\n').filter((line) => /^\d+\.\d+ /.test(line)).length, 100, 'tcpdump reads its 100 packets');
  const known = new Set(frames.map(hex));
  const got = readPcap(join(dir, 'rx.pcap')).packets;
  t.ok(got.every((p) => known.has(hex(p.data)) && p.origLen === p.data.length), 'each one byte for byte a frame of the input, whole');

  const tcpIn = await netvm(['capture', 'rx:in', '-w', join(dir, 'tcp-in.pcap'), '-c', '20', '--filter', 'tcp or (vlan and tcp)', ...ctl]);
  t.equal(tcpIn.code, 0, tcpIn.stderr);
  t.equal(readPcap(join(dir, 'tcp-in.pcap')).packets.length, 20, 'TCP arrives at the port');
  const link = await netvm(['capture', 'fw->ttl', '-w', join(dir, 'link.pcap'), '-c', '30', '--filter', 'ip or ip6', ...ctl]);
  t.equal(link.code, 0, link.stderr);
  const passed = execFileSync('tcpdump', ['-nr', join(dir, 'link.pcap'), 'tcp'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  t.equal(readPcap(join(dir, 'link.pcap')).packets.length, 30);
  t.equal(passed.trim(), '', 'between fw and ttl: no TCP, which fw denies');

  const cut = await netvm(['capture', 'tx:out', '-w', join(dir, 'cut.pcap'), '-c', '50', '--snaplen', '64', ...ctl]);
  t.equal(cut.code, 0, cut.stderr);
  const short = readPcap(join(dir, 'cut.pcap')).packets;
  t.ok(short.every((p) => p.data.length <= 64) && short.some((p) => p.origLen > 64), 'cut at 64 bytes, the length on the wire kept');

  const refusals: [string[], RegExp][] = [
    [['nowhere'], /'nowhere' is not a hop: rx:<port>, tx:<port>, or <nf>-><next nf>/],
    [['rx:eth9'], /no port named 'eth9' \(ports: in, out\)/],
    [['ttl->fw'], /'fw' does not follow 'ttl' in chain main \('ttl' is its last NF: capture at tx:<port>\)/],
    [['rx:in', '--filter', 'tcp and and'], /--filter 'tcp and and': can't parse filter expression: syntax error/],
  ];
  for (const [args, why] of refusals) {
    const r = await netvm(['capture', ...args, '-w', join(dir, 'x.pcap'), ...ctl]);
    t.equal(r.code, 1);
    t.match(r.stderr, why);
  }

  await netvm(['stop', ...ctl]);
  const r = await run.done;
  t.equal(r.code, 0, r.stderr);
  const { rx: received, tx, drops } = totals(r.summary!);
  t.equal(received, tx + drops, 'captures took nothing from the data path: in = out + counted drops');
  t.equal(r.summary!.pool.available, r.summary!.pool.mbufs, 'the pool is full again');
});

t.test('a capture at full rate misses what its writer cannot keep up with, counted, and holds the data path up in nothing', async (t) => {
  const dir = tempDir();
  const run = startNetvm({
    cores: { poll: 1, workers: [0] },
    ports: { in: 'net_null0,size=64,copy=1', out: 'net_null1' },
    nfs: { fwd: { module: join(REPO_ROOT, 'nf-modules/build/forward.wasm') } },
    chains: [{ name: 'main', from: 'in', through: ['fwd'], to: 'out' }],
  }, ['--duration', '60', ...ctl], dir);
  await run.waitFor(/\[\s+1s\]/);
  const sentAt = async (): Promise<[number, number]> => {
    const s = await netvm(['stats', ...ctl]);
    return [Date.now(), Number(/port out: rx \d+, tx (\d+)/.exec(s.stdout)![1])];
  };
  const a = await sentAt();
  await new Promise((r) => setTimeout(r, 1000));
  const b = await sentAt();
  const cap = await netvm(['capture', 'rx:in', '-w', join(dir, 'all.pcap'), '-c', '50000', ...ctl]);
  const c = await sentAt();
  t.equal(cap.code, 0, cap.stderr);
  const m = /^(\d+) packets captured to .*; (\d+) missed \(the capture's ring was full: the writer fell behind\)/.exec(cap.stdout);
  t.ok(m !== null, `misses counted: ${cap.stdout.trim()}`);
  t.equal(readPcap(join(dir, 'all.pcap')).packets.length, Number(m?.[1]), 'the file holds what it says it captured');
  const rate = (x: [number, number], y: [number, number]): number => (y[1] - x[1]) / (y[0] - x[0]);
  const ratio = rate(b, c) / rate(a, b);
  // Copying into the capture's ring costs the poll lcore some; waiting for the writer would cut
  // the rate to the writer's, a small fraction.
  t.ok(ratio > 0.25, `forwarding during the capture at ${(ratio * 100).toFixed(0)}% of its rate before`);
  await netvm(['stop', ...ctl]);
  const r = await run.done;
  t.equal(r.code, 0, r.stderr);
  t.equal(r.summary!.ports[0]!.rx_ring_full, 0, 'nothing dropped at the ring');
  const { rx: received, tx, drops } = totals(r.summary!);
  t.equal(received, tx + drops, 'in = out + counted drops');
  t.equal(r.summary!.pool.available, r.summary!.pool.mbufs, 'the pool is full again');
});
