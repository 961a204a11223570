// The dashboard, end to end in Debian's headless Chromium (playwright-core):
// opened with the token, it draws the running chain, its numbers move while
// traffic runs, and a swap made from the page takes effect. Without the token
// its calls are refused.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { controlCall } from '../host/api/client.js';
import { parseControlAddress, tokenPath } from '../host/api/api.js';
import { REPO_ROOT } from './support/fixtures.js';
import { startNetvm, tempDir } from './support/netvm.js';
import { writeFlowsPcap } from '../bench/traffic.js';

const PORT = 7178;
const CONTROL = `127.0.0.1:${PORT}`;
const address = parseControlAddress(CONTROL)!;
/** The machine notes' flags: no sandbox as root, and none of Chromium's own network traffic. */
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const status = (path: string): Promise<number> => new Promise((resolve, reject) => {
  request({ host: '127.0.0.1', port: PORT, path }, (res) => {
    res.resume();
    resolve(res.statusCode ?? 0);
  }).on('error', reject).end();
});

t.test('the dashboard shows the running chain, live, and swaps from the page', async (t) => {
  const dir = tempDir();
  const pcap = join(dir, 'flows.pcap');
  writeFlowsPcap(pcap, 64, 256);
  const ttl = join(REPO_ROOT, 'nf-modules/build/ttl.wasm');
  const run = startNetvm({
    cores: { poll: 1, workers: [0] },
    ports: { in: `net_pcap0,rx_pcap=${pcap},infinite_rx=1`, out: 'net_null0' },
    nfs: { fw: { module: join(REPO_ROOT, 'nf-modules/build/firewall.wasm'), config: { default: 'allow' } }, ttl: { module: ttl } },
    chains: [{ name: 'main', from: 'in', through: ['fw', 'ttl'], to: 'out' }],
    watchdog_ms: 1000, // Chromium starting up takes the worker's CPU for long on 2 CPUs
  }, ['--duration', '60', '--rx-pps', '20000', '--control', CONTROL], dir);
  await run.waitFor(/\[\s*1s\]/);
  t.equal(await status('/dashboard'), 200, 'the page itself holds no data');
  t.equal(await status('/v1/stats'), 401, 'what it shows needs the token');
  const token = readFileSync(tokenPath(address), 'utf8').trim();

  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  t.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  await page.goto(`http://${CONTROL}/dashboard?token=${token}`);
  const heading = page.locator('[data-chain="main"] h2');
  await heading.waitFor();
  t.match(await heading.textContent(), /^chain main · 1 worker\(s\) · in \d+/);
  t.same(await page.locator('[data-chain="main"] .node text:nth-of-type(1)').allTextContents(), ['in', 'fw', 'ttl', 'out'], 'ports and NFs, in order');
  const inCount = async (): Promise<number> => Number(/in (\d+)/.exec((await heading.textContent())!)![1]);
  const first = await inCount();
  await page.waitForFunction(() => /pps$/.test(document.querySelector('[data-edge="main:0"] text')?.textContent ?? ''));
  t.match(await page.locator('[data-edge="main:0"] text').textContent(), /^\d+(\.\d+)? (k|M)?pps$/, 'the input edge carries a rate');
  await page.waitForTimeout(1500);
  t.ok((await inCount()) > first, 'the numbers move');
  t.match(await page.locator('[data-node="main:1"] text.cost').textContent(), /^\d+\.\d ns a packet$/, "an NF's node says what a packet cost the worker there");
  // The last minutes: a chart of the chain and one of each NF, from /v1/history.
  await page.locator('[data-chart="main/ttl"] canvas').waitFor();
  t.same(await page.locator('[data-history="main"] .chart h3').allTextContents(), ['chain', 'nf fw', 'nf ttl'], 'a chart of the chain, and one of each NF');
  t.equal(await page.locator('[data-chart="main"] .u-legend .u-series').count(), 4, 'the chain\'s chart: time, in, out, dropped');
  const history = (await controlCall(address, 'GET', '/v1/history')).body as { intervalS: number; samples: { at: number; chains: { name: string; in: number; out: number; nfs: { name: string; in: number }[] }[] }[] };
  const last = history.samples.at(-1)!;
  t.ok(history.samples.length >= 2 && last.chains[0]!.name === 'main' && last.chains[0]!.in > 10_000 && last.chains[0]!.in < 30_000,
    `/v1/history: a sample a second, the chain's rate near its pace of 20 kpps (${Math.round(last.chains[0]!.in)})`);
  t.same(last.chains[0]!.nfs.map((n) => n.name), ['fw', 'ttl'], 'with each NF\'s');
  await page.screenshot({ path: join(dir, 'dashboard.png') });

  await page.selectOption('#swap select', 'ttl');
  await page.fill('#swap input[name="module"]', ttl);
  await page.click('#swap button');
  await page.waitForFunction(() => /"swapped": true/.test(document.querySelector('#answer')?.textContent ?? ''));
  await page.waitForFunction(() => /swap ttl: done/.test(document.querySelector('#events')?.textContent ?? ''));
  const events = (await controlCall(address, 'GET', '/v1/events')).body['events'] as { kind: string; outcome: string }[];
  t.ok(events.some((e) => e.kind === 'swap' && e.outcome === 'done'), 'the swap from the page took effect');

  await controlCall(address, 'POST', '/v1/stop');
  const r = await run.done;
  t.equal(r.code, 0, r.stderr);
  t.equal(r.summary!.pool.available, r.summary!.pool.mbufs, 'the pool is full again');
});
