// NFs written in C and in Rust, built to WebAssembly with the C SDK
// (nf-modules/sdk-c) and the Rust SDK (nf-modules/sdk-rust) (issue 19):
// ttl-c and ttl-rs checked against the same independent reference as the
// AssemblyScript ttl, byte for byte, offline and on the data plane (where the
// pool's window reaches them through the netvm_window export); netvm nf build
// compiles each language and points at its source line when it does not.
import t from 'tap';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runOffline } from '../host/chain/offline.js';
import { loadNfModule } from '../host/nf/module.js';
import { REPO_ROOT } from './support/fixtures.js';
import { netvm } from './support/cli.js';
import { runNetvm, tempDir, totals } from './support/netvm.js';
import { DATA_ROOM, inputFrames, outputFrames, pcapChainConfig } from './support/pcap-ports.js';
import { ttlStep } from './support/ttl-reference.js';

const hex = (f: Uint8Array): string => Buffer.from(f).toString('hex');
const built = (name: string): string => join(REPO_ROOT, 'nf-modules/build', `${name}.wasm`);

for (const [lang, name] of [['C', 'ttl-c'], ['Rust', 'ttl-rs']] as const) {
  t.test(`ttl in ${lang}, as Wasm: every packet of the bundled traffic as the reference steps it, as the AssemblyScript ttl does`, async (t) => {
    const frames = inputFrames().filter((f) => f.length <= DATA_ROOM);
    const theirs = runOffline(frames, [{ name: 'ttl', module: loadNfModule(built(name)) }]);
    const as = runOffline(frames, [{ name: 'ttl', module: loadNfModule(built('ttl')) }]);
    const expected = frames.map((f) => ttlStep(f, 1));
    t.same(theirs.out.map((p) => hex(p.data)), expected.filter((r) => r.verdict === 'pass').map((r) => hex(r.out)), 'the packets out, stepped');
    t.same(theirs.out.map((p) => hex(p.data)), as.out.map((p) => hex(p.data)), 'the same bytes as the AssemblyScript ttl');
    t.equal(theirs.nfs[0]!.dropped, expected.filter((r) => r.verdict === 'drop').length, 'dropped exactly the TTL <= 1 packets');
    t.same(theirs.nfs[0]!.metrics, as.nfs[0]!.metrics, 'and counted as ttl does');
  });
}

t.test('on the data plane: pcap in -> [ttl in C, in Rust, in AssemblyScript] -> pcap out', async (t) => {
  const dir = tempDir();
  const run = await runNetvm(pcapChainConfig(dir, { c: built('ttl-c'), rust: built('ttl-rs'), as: built('ttl') }), undefined, dir);
  t.equal(run.code, 0, run.stderr);
  const fitting = inputFrames().filter((f) => f.length <= DATA_ROOM);
  const expected = fitting.map((f) => ttlStep(f, 3)).filter((r) => r.verdict === 'pass').map((r) => hex(r.out));
  t.same(outputFrames(dir).map(hex), expected, 'every packet out equals the reference, in order');
  const { rx, tx, drops } = totals(run.summary!);
  t.equal(rx, tx + drops, 'in = out + counted drops');
  t.equal(run.summary!.pool.available, run.summary!.pool.mbufs, 'the mbuf pool is full again');
});

const DROP_ALL = {
  c: { file: 'nf.c', source: '#include "netvm.h"\n\nvoid nf_init(void) {}\n\nvoid nf_process(uint32_t n)\n{\n\tfor (uint32_t i = 0; i < n; i++)\n\t\tnetvm_set_verdict(i, NETVM_DROP);\n}\n', line: 8, broken: (s: string) => s.replace('NETVM_DROP);', 'NETVM_DROP)'), error: "error: expected ';'" },
  rust: { file: 'nf.rs', source: '#![no_std]\n\nfn init() {}\n\nfn process(burst: &mut netvm::Burst) {\n    for i in 0..burst.len() {\n        burst.set_verdict(i, netvm::DROP);\n    }\n}\n\nnetvm::nf!(init, process);\n', line: 7, broken: (s: string) => s.replace('netvm::DROP', 'netvm::DORP'), error: 'error\\[E0425\\]: cannot find value `DORP`' },
};

for (const [lang, nf] of Object.entries(DROP_ALL)) {
  t.test(`netvm nf build compiles ${lang}, and points at the ${lang} line when it does not compile`, async (t) => {
    const name = `zz-${lang}-${process.pid}`;
    const dir = join(REPO_ROOT, 'nf-modules', name);
    t.teardown(() => {
      rmSync(dir, { recursive: true, force: true });
      for (const f of [`${name}.wasm`, `${name}.debug.wasm`]) rmSync(join(REPO_ROOT, 'nf-modules/build', f), { force: true });
    });
    mkdirSync(dir);
    writeFileSync(join(dir, nf.file), nf.source);
    const ok = await netvm(['nf', 'build', name]);
    t.equal(ok.code, 0, ok.stderr);
    t.match(ok.stdout, `built: ${name}`);
    const dropped = runOffline(inputFrames().slice(0, 10), [{ name, module: loadNfModule(built(name)) }]);
    t.equal(dropped.nfs[0]!.dropped, 10, 'it runs: every packet dropped, as it says');

    writeFileSync(join(dir, nf.file), nf.broken(nf.source));
    const bad = await netvm(['nf', 'build', name]);
    t.equal(bad.code, 1);
    t.match(bad.stderr, new RegExp(`nf-modules/${name}: release build failed:\\n[\\s\\S]*${nf.error}`));
    t.match(bad.stderr, new RegExp(`nf-modules/${name}/${nf.file.replace('.', '\\.')}:${nf.line}:\\d+`), 'at the line');
  });
}
