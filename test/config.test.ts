// Config checks in-process, without DPDK: defaults, chain placement, and the
// messages a user gets, starting with the field path.
import t from 'tap';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, resolveConfig } from '../host/config/config.js';
import { buildEalArgs, checkExtraEalArgs } from '../host/config/eal-args.js';
import { poolShortfall } from '../host/runtime/hugepages.js';
import { REPO_ROOT } from './support/fixtures.js';

const FORWARD = `${REPO_ROOT}nf-modules/build/forward.wasm`;
const base = {
  cores: { poll: 1, workers: [0] },
  ports: { in: 'net_null0', out: 'net_null1' },
  nfs: { a: { module: FORWARD }, b: { module: FORWARD, config: { x: 1 } } },
  chains: [{ from: 'in', through: ['a', 'b'], to: 'out' }],
};

function problems(data: unknown): string[] {
  try {
    resolveConfig(data, 'test.yaml');
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

t.test('the config of the README resolves, with defaults', async (t) => {
  const cfg = resolveConfig(base, 'test.yaml');
  t.same(cfg.ports, [{ name: 'in', devargs: 'net_null0' }, { name: 'out', devargs: 'net_null1' }]);
  t.same(cfg.chains, [{ name: 'in->out', from: 0, to: 1, through: ['a', 'b'], workers: 1, failOpen: false }]);
  t.same(cfg.pool, { mbufs: 8191, hugepages: 'auto' });
  t.same(cfg.nfs[1], { name: 'b', module: FORWARD, config: { x: 1 }, limits: {}, trust: 'shared' });
});

t.test('fail policy, watchdog and NF limits', async (t) => {
  const cfg = resolveConfig({
    ...base, watchdog_ms: 120, chains: [{ ...base.chains[0], fail: 'open' }],
    nfs: { ...base.nfs, a: { ...base.nfs.a, limits: { heap_mb: 64, batch_ms: 500 }, trust: 'isolated' } },
  }, 'test.yaml');
  t.equal(cfg.nfs[0]!.trust, 'isolated');
  t.equal(cfg.watchdogMs, 120);
  t.equal(cfg.chains[0]!.failOpen, true);
  t.same(cfg.nfs[0]!.limits, { heapMb: 64, batchMs: 500 });
  t.equal(resolveConfig(base, 'test.yaml').watchdogMs, 200, 'the default budget');
  const bad = problems({ ...base, watchdog_ms: 1, chains: [{ ...base.chains[0], fail: 'maybe' }], nfs: { ...base.nfs, a: { ...base.nfs.a, limits: { heap_mb: 0, cpu: 1 } } } });
  t.ok(bad.some((p) => p.startsWith('watchdog_ms:')), 'watchdog_ms out of range');
  t.ok(bad.some((p) => p.startsWith('chains[0].fail:')), 'an unknown fail policy');
  t.ok(bad.some((p) => p.startsWith('nfs.a.limits.heap_mb:')), 'heap_mb below 1');
  t.ok(bad.some((p) => p.startsWith('nfs.a.limits')) && bad.some((p) => p.includes('cpu')), 'an unknown limit');
  t.ok(problems({ ...base, nfs: { ...base.nfs, a: { ...base.nfs.a, trust: 'enclave' } } }).some((p) => p.startsWith('nfs.a.trust:')), 'an unknown trust level');
});

t.test('vm NFs: what applies to them and what does not', async (t) => {
  const vm = (nf: object, chain: object = {}) => problems({ ...base, nfs: { ...base.nfs, a: { ...base.nfs.a, ...nf } }, chains: [{ ...base.chains[0], ...chain }] });
  t.same(vm({ trust: 'vm' }), [], 'trust: vm, over ivshmem by default');
  t.same(vm({ trust: 'vm', via: 'vhost-user' }), [], 'or over vhost-user');
  t.match(vm({ via: 'ivshmem' }), [/^nfs\.a\.via: only a vm NF/]);
  t.match(vm({ trust: 'vm', via: 'pigeon' }), [/^nfs\.a\.via:/]);
  t.match(vm({ trust: 'vm', limits: { heap_mb: 64 } }), [/^nfs\.a\.limits\.heap_mb: a vm NF's memory is its guest's/]);
  t.match(vm({ trust: 'vm', via: 'vhost-user', config: { x: 1 } }), [/^nfs\.a\.config: a vhost-user guest is configured in its image/]);
  t.match(vm({ trust: 'vm' }, { workers: 2 }), [/^chains\[0\]\.workers: its vm NF \(a\) has one guest/]);
});

t.test('each NF entry is one instance; each port is read by one chain; chains have names of their own', async (t) => {
  t.same(problems({ ...base, chains: [base.chains[0], { from: 'in', through: ['a'], to: 'out' }] }), [
    "chains[1].name: 'in->out' is the name of chains[0] too; chains need names of their own",
    "chains[1].from: port 'in' is already read by chains[0]",
    "chains[1].through[0]: NF 'a' is already used at chains[0].through[0]; an NF entry is one instance, declare another",
  ]);
});

t.test('a chain runs on 1 to 16 workers', async (t) => {
  t.equal(resolveConfig({ ...base, chains: [{ ...base.chains[0], workers: 3 }] }, 'test.yaml').chains[0]!.workers, 3);
  t.same(problems({ ...base, chains: [{ ...base.chains[0], workers: 0 }] }), ['chains[0].workers: must be >= 1']);
  t.same(problems({ ...base, chains: [{ ...base.chains[0], workers: 17 }] }), ['chains[0].workers: must be <= 16']);
});

t.test('cores: the poll core is not a worker, no CPU twice', async (t) => {
  t.same(problems({ ...base, cores: { poll: 0, workers: [0, 0] } }), [
    'cores.workers[0]: CPU 0 is the poll core; a worker needs a CPU of its own',
    'cores.workers[1]: CPU 0 is the poll core; a worker needs a CPU of its own',
    'cores.workers[1]: CPU 0 is listed twice',
  ]);
});

t.test('pool settings are checked', async (t) => {
  t.same(problems({ ...base, pool: { mbufs: 10, hugepages: 'sometimes' } }), [
    'pool.mbufs: must be >= 1023',
    'pool.hugepages: must be equal to one of the allowed values',
  ]);
});

t.test('extra EAL arguments: allowed ones pass, with values in either form', async (t) => {
  t.same(checkExtraEalArgs(['--log-level=pmd.net.pcap:debug', '-m', '512', '--iova-mode', 'va', '--no-hpet']), []);
  t.same(checkExtraEalArgs(['-m']), [[0, "'-m' needs a value"]]);
  t.same(checkExtraEalArgs(['--file-prefix=x']), [[0, "'--file-prefix' is set by netvm from the --file-prefix option of netvm run"]]);
});

t.test('the EAL command line follows the config', async (t) => {
  const cfg = resolveConfig({ ...base, eal: ['--no-hpet'] }, 'test.yaml');
  const args = buildEalArgs(cfg, 'p1', true);
  t.ok(args.includes('--in-memory') && args.includes('--no-pci') && args.includes('--file-prefix=p1'));
  t.match(args.find((a) => a.startsWith('--lcores=')), /,1@1$/, 'lcore 1 polls on CPU 1');
  t.equal(args.at(-1), '--no-hpet');
  t.ok(buildEalArgs(cfg, 'p1', false).includes('--no-huge'));
});

t.test('relative paths resolve against the current folder; config_file reads JSON and YAML, never beside config', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'netvm-config-'));
  t.teardown(() => {
    process.chdir(REPO_ROOT);
    rmSync(dir, { recursive: true, force: true });
  });
  mkdirSync(join(dir, 'nfs'));
  copyFileSync(FORWARD, join(dir, 'nfs/fwd.wasm'));
  writeFileSync(join(dir, 'fw.json'), '{"rules": [{"action": "deny", "dport": 53}]}');
  writeFileSync(join(dir, 'fw.yaml'), 'rules:\n  - { action: deny, dport: 53 }\n');
  process.chdir(dir);
  const nf = (extra: object): object => ({ module: 'nfs/fwd.wasm', ...extra });
  const cfg = resolveConfig({ ...base, nfs: { a: nf({ config_file: 'fw.json' }), b: nf({ config_file: 'fw.yaml' }) } }, 'test.yaml');
  t.same(cfg.nfs.map((n) => n.module), [join(dir, 'nfs/fwd.wasm'), join(dir, 'nfs/fwd.wasm')], 'modules found from the current folder');
  const rules = { rules: [{ action: 'deny', dport: 53 }] };
  t.same(cfg.nfs.map((n) => n.config), [rules, rules], 'the same config from JSON and from YAML');
  t.same(problems({ ...base, nfs: { a: nf({ config_file: 'fw.json', config: rules }), b: nf({ config_file: 'fw.yaml', config: rules }) } }), [
    'nfs.a: give config or config_file, not both',
    'nfs.b: give config or config_file, not both',
  ], 'config and config_file together: refused, for JSON and YAML');
  t.same(problems({ ...base, nfs: { a: nf({ config_file: 'missing.json' }), b: nf({}) } }).map((p) => p.replaceAll(dir, '<dir>')), [
    'nfs.a.config_file: cannot read <dir>/missing.json: ENOENT: no such file or directory, open \'<dir>/missing.json\'',
  ], 'a config file that is not there: refused, by its full path');
  process.chdir(REPO_ROOT);
  t.match(problems({ ...base, nfs: { a: nf({}), b: nf({}) } })[0], `nfs.a.module: no such file: ${join(REPO_ROOT, 'nfs/fwd.wasm')}`, 'from another folder, the same relative path is not found');
});

t.test('a pool smaller than the rings and RX queues can hold is warned about', async (t) => {
  t.equal(poolShortfall(8191, 1, 2), undefined, 'the default pool: one chain on one worker, two ports');
  t.match(poolShortfall(8191, 2, 2), /^WARNING: pool\.mbufs 8191 is less than 2 full ring\(s\) of 4096 and 2 port RX ring\(s\) of 1024 hold \(10240\): .*Give pool\.mbufs at least that$/, 'two workers');
  t.equal(poolShortfall(16383, 2, 2), undefined, 'a pool that holds them');
});
