// Messages between NFs (issue 20): dpi tells the firewall of a matching flow
// and the firewall drops the rest of it, both ways, while other flows pass
// (offline, and on DPDK ports); a hostile sender that sends without end is
// bounded, counted on both sides, and the chain forwards every packet all the
// same; `netvm send` blocks a prefix on a live chain.
import t from 'tap';
import { join } from 'node:path';
import { runOffline } from '../host/chain/offline.js';
import { loadNfModule } from '../host/nf/module.js';
import { MAILBOX_ROOM } from '../host/chain/mailroom.js';
import { REPO_ROOT, fixtureNf } from './support/fixtures.js';
import { writeFlowsPcap } from '../bench/traffic.js';
import { writePcap } from '../host/pcap/index.js';
import { netvm } from './support/cli.js';
import { runNetvm, startNetvm, tempDir, totals } from './support/netvm.js';
import { outputFrames, pcapChainConfig } from './support/pcap-ports.js';
import { ETHERTYPE, ethernetFrame, ipv4Packet, padFrame, tcpSegment } from './support/packets.js';

const built = (name: string) => loadNfModule(join(REPO_ROOT, 'nf-modules/build', `${name}.wasm`));
const hex = (f: Uint8Array): string => Buffer.from(f).toString('hex');

const tcp = (src: string, sport: number, dst: string, dport: number, text = ''): Uint8Array =>
  padFrame(ethernetFrame({
    etherType: ETHERTYPE.IPV4,
    payload: ipv4Packet({ src, dst, ttl: 64, protocol: 6, payload: tcpSegment({ srcPort: sport, dstPort: dport, flags: 0x18, payload: Buffer.from(text) }) }),
  }));

t.test('dpi -> firewall: after a match, the firewall drops the rest of that flow, both ways; other flows pass', async (t) => {
  // Three flows, interleaved; flow A carries the signature in its 5th packet.
  const frames: Uint8Array[] = [];
  const isA: boolean[] = [];
  for (let i = 0; i < 12; i++) {
    const a = i === 4 ? 'GET /attack HTTP/1.1' : 'hello';
    frames.push(i % 2 === 0 ? tcp('10.0.0.1', 40000, '198.51.100.1', 80, a) : tcp('198.51.100.1', 80, '10.0.0.1', 40000, 'reply'));
    isA.push(true);
    frames.push(tcp('10.0.0.2', 40001, '198.51.100.1', 80, 'hello'), tcp('10.0.0.1', 40002, '198.51.100.1', 80, 'hello'));
    isA.push(false, false);
  }
  const hit = frames.findIndex((f) => Buffer.from(f).includes('attack'));
  // One packet a burst (a clock tick each): a message reaches the firewall before its next burst.
  const timesNs = frames.map((_, i) => BigInt(1e9 + i * 1000));
  const result = runOffline(frames, [
    { name: 'dpi', module: built('dpi'), config: JSON.stringify({ patterns: [{ text: 'attack', action: 'count' }], notify: 'fw', block_s: 60 }) },
    { name: 'fw', module: built('firewall'), config: JSON.stringify({ default: 'allow' }), exportState: true },
  ], { timesNs, log: () => {} });
  const expected = frames.filter((_, i) => !(isA[i] && i >= hit)).map(hex);
  // The block moves with the firewall's state (a hot-swap's handover), even a stateless one's.
  const flowA = frames.filter((_, i) => isA[i]);
  const state = result.nfs[1]!.state!;
  const swapped = runOffline(flowA, [{ name: 'fw', module: built('firewall'), config: JSON.stringify({ default: 'allow' }), state }], { log: () => {} });
  t.equal(swapped.out.length, 0, 'a new instance given the state drops flow A too');
  t.equal(swapped.nfs[0]!.metrics['blocks'], 1);
  const inC = runOffline(flowA, [{ name: 'fw', module: built('firewall-c'), config: JSON.stringify({ default: 'allow' }), state }], { log: () => {} });
  t.equal(inC.out.length, flowA.length, 'the firewall in C takes the state and keeps no block (it takes no messages)');
  t.same(result.out.map((p) => hex(p.data)), expected, 'every packet of flow A from the match on is dropped, both ways; the rest pass, in order');
  const [dpi, fw] = result.nfs;
  t.equal(dpi!.metrics['notified'], 1, 'dpi sent one flow message');
  t.equal(dpi!.messages_sent, 1);
  t.equal(fw!.messages_received, 1, 'the firewall took it');
  t.equal(fw!.metrics['denied_by_block'], frames.length - expected.length, 'and counted each packet it dropped for it');
  t.equal(result.chain.in, result.chain.out + result.chain.dropped, 'in = out + counted drops');
  t.equal(result.chain.dropped, frames.length - expected.length);
});

t.test('dpi refuses a notify target that is not in its chain', async (t) => {
  t.throws(() => runOffline([], [{ name: 'dpi', module: built('dpi'), config: JSON.stringify({ patterns: [{ text: 'x', action: 'count' }], notify: 'fw' }) }], { log: () => {} }),
    { message: /config: notify: no other NF 'fw' in this chain/ });
});

t.test('a sender that sends without end is bounded and counted, and the chain forwards every packet', async (t) => {
  const frames = Array.from({ length: 3000 }, (_, i) => tcp(`10.1.${i >> 8}.${i & 255}`, 1000 + (i % 5000), '198.51.100.9', 443, 'x'));
  const result = runOffline(frames, [
    { name: 'flood', module: loadNfModule(await fixtureNf('flood')) },
    { name: 'sink', module: loadNfModule(await fixtureNf('sink')) },
  ], { log: () => {} });
  t.equal(result.out.length, frames.length, 'every packet forwarded');
  const [flood, sink] = result.nfs;
  const tried = flood!.messages_sent + flood!.messages_dropped;
  t.ok(flood!.messages_sent > 0 && flood!.messages_dropped > 0, `sent ${flood!.messages_sent}, dropped ${flood!.messages_dropped}`);
  t.equal(sink!.messages_received, flood!.messages_sent, 'every message sent was delivered');
  t.equal(sink!.metrics['messages'], flood!.messages_sent, 'and read by the receiver');
  t.equal(sink!.metrics['message_bytes'], 16 * flood!.messages_sent);
  t.equal(sink!.metrics['zero_messages'], 0, 'each one the bytes its sender wrote');
  t.ok(sink!.mailbox_full > 0, `its mailbox was full ${sink!.mailbox_full} times (room ${MAILBOX_ROOM})`);
  t.ok(tried >= 2 * frames.length, `${tried} messages tried for ${frames.length} packets (and the held ones refused)`);
});

// ---- on the data plane ---------------------------------------------------------

const CONTROL = '127.0.0.1:7173';
const ctl = ['--control', CONTROL];

// Shared NFs see the message in the pool; isolated ones get it copied (to and from their private areas).
for (const [dpiTrust, fwTrust] of [['shared', 'shared'], ['isolated', 'isolated'], ['shared', 'isolated']] as const) t.test(`on DPDK ports, dpi ${dpiTrust} and firewall ${fwTrust}: pcap in -> dpi -> firewall -> pcap out; the matching flow is dropped from its first packet, both ways`, async (t) => {
  const dir = tempDir();
  // Flow A's first packet carries the signature: all of flow A is dropped whatever the bursts.
  const frames: Uint8Array[] = [];
  const isA: boolean[] = [];
  for (let i = 0; i < 600; i++) {
    const a = i % 3 === 0;
    frames.push(a
      ? (i % 2 === 0 ? tcp('10.0.0.1', 40000, '198.51.100.1', 80, i === 0 ? 'GET /attack' : 'more') : tcp('198.51.100.1', 80, '10.0.0.1', 40000, 'reply'))
      : tcp(`10.0.1.${i % 200}`, 20000 + (i % 7), '198.51.100.1', 80, 'hello'));
    isA.push(a);
  }
  const input = join(dir, 'in.pcap');
  writePcap(input, frames.map((data) => ({ data })));
  const config = pcapChainConfig(dir, {}, input) as { nfs: object; chains: { through: string[] }[] };
  config.nfs = {
    dpi: { module: join(REPO_ROOT, 'nf-modules/build/dpi.wasm'), config: { patterns: [{ text: 'attack', action: 'count' }], notify: 'fw' }, trust: dpiTrust },
    fw: { module: join(REPO_ROOT, 'nf-modules/build/firewall.wasm'), config: { default: 'allow' }, trust: fwTrust },
  };
  config.chains[0]!.through = ['dpi', 'fw'];
  const run = await runNetvm(config, undefined, dir);
  t.equal(run.code, 0, run.stderr);
  t.same(outputFrames(dir).map(hex), frames.filter((_, i) => !isA[i]).map(hex), 'every other flow out, in order; none of flow A');
  const { rx, tx, drops } = totals(run.summary!);
  t.equal(rx, tx + drops, 'in = out + counted drops');
  const [dpi, fw] = run.summary!.chains[0]!.nfs;
  t.equal(fw!.metrics['denied_by_block'], isA.filter(Boolean).length, 'each packet of flow A dropped by the block');
  t.equal(dpi!.messages_sent, 1);
  t.equal(fw!.messages_received, 1);
  t.equal(run.summary!.pool.available, run.summary!.pool.mbufs, 'the mbuf pool is full again');
});

t.test('netvm send sets a new rate and blocks a prefix on a live chain; an NF without messages says so; an unknown NF is refused', async (t) => {
  const dir = tempDir();
  const flows = join(dir, 'flows.pcap');
  writeFlowsPcap(flows, 64, 256); // UDP from 10.0.0.0/8
  const config = {
    cores: { poll: 1, workers: [0] },
    ports: { src: `net_pcap0,rx_pcap=${flows},infinite_rx=1`, sink: 'net_null0' },
    nfs: {
      fw: { module: join(REPO_ROOT, 'nf-modules/build/firewall.wasm'), config: { default: 'allow' } },
      rl: { module: join(REPO_ROOT, 'nf-modules/build/ratelimit.wasm'), config: { rate: 1e12, burst: 1e6 } },
      step: { module: join(REPO_ROOT, 'nf-modules/build/ttl.wasm') },
    },
    // Two replicas (two lanes on the one worker CPU): a message goes to each.
    chains: [{ from: 'src', through: ['fw', 'rl', 'step'], to: 'sink', workers: 2 }],
  };
  const run = startNetvm(config, ['--duration', '120', ...ctl], dir);
  await run.waitFor(/\[\s*1s\]/);
  const rate = await netvm(['send', 'rl', '{"rate": 10, "burst": 5}', ...ctl]);
  t.same(rate.stdout.trim().split('\n'), [0, 1].map((l) => `nf rl (lane ${l}): {"rate":10,"burst":5}`), 'each replica of ratelimit takes a new rate');
  await new Promise((r) => setTimeout(r, 300));
  const sent = await netvm(['send', 'fw', '{"block": "10.0.0.0/8", "seconds": 600}', ...ctl]);
  t.equal(sent.code, 0, sent.stderr);
  t.same(sent.stdout.trim().split('\n'), [0, 1].map((l) => `nf fw (lane ${l}): {"blocked":"10.0.0.0/8","seconds":600}`), 'each replica of the firewall answers');
  const out = async (): Promise<number> => {
    const s = await netvm(['stats', ...ctl]);
    return Number(/sink\S*\s.*?tx (\d+)/.exec(s.stdout)?.[1] ?? NaN);
  };
  await new Promise((r) => setTimeout(r, 300));
  const before = await out();
  await new Promise((r) => setTimeout(r, 700));
  t.equal(await out(), before, `nothing out once 10.0.0.0/8 is blocked (${before} before it)`);
  const none = await netvm(['send', 'step', '{}', ...ctl]);
  t.equal(none.code, 1);
  t.match(none.stderr, /nf step \(lane \d\) did not take the message: it takes no messages \(no netvm_message export\)/);
  const unknown = await netvm(['send', 'nope', '{}', ...ctl]);
  t.equal(unknown.code, 1);
  t.match(unknown.stderr, /no NF named 'nope'/);
  // The block moves to the firewall's new instance in a hot-swap.
  const swap = await netvm(['swap', 'fw', join(REPO_ROOT, 'nf-modules/build/firewall.wasm'), ...ctl]);
  t.match(swap.stdout, /swapped nf fw to .*: its state handed over/, swap.stderr);
  const afterSwap = await out();
  await new Promise((r) => setTimeout(r, 500));
  t.equal(await out(), afterSwap, 'still nothing out after the swap');
  const bad = await netvm(['send', 'fw', '{"block": "10.0.0.1/8"}', ...ctl]);
  t.match(bad.stdout, /nf fw \(lane \d\): \{"error":"'10.0.0.1\/8' is not an IPv4 or IPv6 prefix"\}/, 'a bad block is answered with the reason');
  t.equal((await netvm(['stop', ...ctl])).code, 0);
  const end = await run.done;
  t.equal(end.code, 0, end.stderr);
  const { rx, tx, drops } = totals(end.summary!);
  t.equal(rx, tx + drops, 'in = out + counted drops');
  const [fw, rl] = end.summary!.chains[0]!.nfs; // summed over the replicas
  t.ok(rl!.metrics['rate_limited']! > 0, `${rl!.metrics['rate_limited']} packets over the new rate dropped`);
  t.ok(fw!.metrics['denied_by_block']! > 0, `${fw!.metrics['denied_by_block']} packets denied by the block (since the swap)`);
  t.equal(fw!.messages_received, 4, 'two messages taken by each replica (the block, the bad one)');
  t.equal(end.summary!.pool.available, end.summary!.pool.mbufs, 'the mbuf pool is full again');
});

t.test('a hot-swap keeps the messages waiting for the NF it swaps: its new instance gets them', async (t) => {
  const dir = tempDir();
  const flows = join(dir, 'flows.pcap');
  writeFlowsPcap(flows, 64, 256);
  // chatter sends one message a burst to sink, before it in the chain: between two bursts one
  // message always waits for sink. So, with nothing lost, exactly one is left unread at the end.
  const config = {
    cores: { poll: 1, workers: [0] },
    ports: { src: `net_pcap0,rx_pcap=${flows},infinite_rx=1`, out: 'net_null0' },
    nfs: { sink: { module: await fixtureNf('sink') }, chatter: { module: await fixtureNf('chatter') } },
    chains: [{ from: 'src', through: ['sink', 'chatter'], to: 'out' }],
  };
  const run = startNetvm(config, ['--duration', '120', ...ctl], dir);
  await run.waitFor(/\[\s*1s\]/);
  for (let i = 0; i < 3; i++) {
    const swap = await netvm(['swap', 'sink', await fixtureNf('sink'), ...ctl]);
    t.equal(swap.code, 0, swap.stderr);
  }
  t.equal((await netvm(['stop', ...ctl])).code, 0);
  const end = await run.done;
  t.equal(end.code, 0, end.stderr);
  const [sink, chatter] = end.summary!.chains[0]!.nfs;
  t.ok(chatter!.messages_sent > 100, `${chatter!.messages_sent} sent`);
  t.equal(chatter!.messages_dropped, 0, 'none dropped');
  t.equal(sink!.messages_received, chatter!.messages_sent - 1, 'all but the last received, across three swaps');
  const { rx, tx, drops } = totals(end.summary!);
  t.equal(rx, tx + drops, 'in = out + counted drops');
});
