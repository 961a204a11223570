// An NF's config reaches its netvm_configure as JSON; a refused config, or a
// config for an NF that takes none, stops the run before it starts, with the
// NF's own reason; the NF's logs and metrics reach the operator.
import t from 'tap';
import { join } from 'node:path';
import { REPO_ROOT, fixtureNf } from './support/fixtures.js';
import { logMessages, runNetvm, tempDir } from './support/netvm.js';
import { TRAFFIC, pcapChainConfig } from './support/pcap-ports.js';

function withConfig(dir: string, module: string, config: unknown): object {
  const cfg = pcapChainConfig(dir, { c: module }, TRAFFIC) as { nfs: Record<string, { module: string; config?: unknown }> };
  cfg.nfs['c']!.config = config;
  return cfg;
}

t.test('the config is handed over, and the NF logs and counts', async (t) => {
  const dir = tempDir();
  const run = await runNetvm(withConfig(dir, await fixtureNf('config-echo'), { greeting: 'hi', n: 3 }), undefined, dir);
  t.equal(run.code, 0, run.stderr);
  t.ok(logMessages(run.stderr).includes('nf c info: configured with {"greeting":"hi","n":3}'), 'the NF logged what it was given');
  const nf = run.summary!.chains[0]!.nfs[0]!;
  t.equal(nf.metrics['packets'], nf.in, 'the counter the NF keeps equals the packets it was given');
  t.ok(nf.metrics['last_burst']! > 0, 'the gauge holds the last burst size');
});

t.test('a refused config stops the run before anything starts, with the reason the NF logged', async (t) => {
  const dir = tempDir();
  const module = await fixtureNf('config-echo');
  const run = await runNetvm(withConfig(dir, module, { mode: 'refuse' }), undefined, dir);
  t.equal(run.code, 2);
  t.match(run.stderr, `nfs.c.config: ${module}: c: refused its config (status 1): config says refuse: {"mode":"refuse"}`);
  t.notOk(run.leftRuntimeDir);
});

t.test('a config for an NF that takes none is an error', async (t) => {
  const dir = tempDir();
  const run = await runNetvm(withConfig(dir, join(REPO_ROOT, 'nf-modules/build/forward.wasm'), { x: 1 }), undefined, dir);
  t.equal(run.code, 2);
  t.match(run.stderr, 'nfs.c.config: ');
  t.match(run.stderr, 'has a config but does not export netvm_configure and netvm_config_buffer');
});
