// netvm nf new: a new NF that builds and passes its test straight away: the
// source (every packet goes on, and is counted) and a test that runs it over
// the bundled pcap with the same runner as `netvm nf test`.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { NF_ROOT, NF_SOURCES, type NfLang } from './build.js';

const NAME = /^[a-z][a-z0-9-]{0,39}$/;

const asSource = (name: string): string => `// ${name}: every packet goes on to the next NF, and is counted.
// Change netvm_process to decide each packet: setVerdict(i, DROP), setVerdict(i, outPort(p)).
import { counter, packetLen } from '../sdk';
export * from '../sdk/exports';

const packets = counter('packets');
const bytes = counter('bytes');

export function netvm_process(n: i32): void {
  let total: u64 = 0;
  for (let i = 0; i < n; i++) total += packetLen(i);
  packets.add(<u64>n);
  bytes.add(total);
}
`;

const cSource = (name: string): string => `/* ${name}: every packet goes on to the next NF, and is counted.
 * Change nf_process to decide each packet: netvm_set_verdict(i, NETVM_DROP),
 * netvm_set_verdict(i, NETVM_OUT_PORT | port). The C SDK: nf-modules/sdk-c/netvm.h. */
#define NETVM_READS_NO_META /* remove it to read the chain's parse (netvm_records[i].meta) */
#include "netvm.h"

static uint32_t packets, bytes;

void nf_init(void)
{
	packets = netvm_counter("packets");
	bytes = netvm_counter("bytes");
}

void nf_process(uint32_t n)
{
	uint64_t total = 0;
	for (uint32_t i = 0; i < n; i++)
		total += netvm_packet_len(i);
	netvm_count(packets, n);
	netvm_count(bytes, total);
}
`;

const rustSource = (name: string): string => `//! ${name}: every packet goes on to the next NF, and is counted.
//! Change process to decide each packet: burst.set_verdict(i, DROP),
//! burst.set_verdict(i, OUT_PORT | port). The Rust SDK: nf-modules/sdk-rust/lib.rs.
#![no_std]

use netvm::{Burst, Metric};

static PACKETS: Metric = Metric::new();
static BYTES: Metric = Metric::new();

fn init() {
    PACKETS.define_counter("packets");
    BYTES.define_counter("bytes");
}

fn process(burst: &mut Burst) {
    let mut total: u64 = 0;
    for i in 0..burst.len() {
        total += u64::from(burst.record(i).len);
    }
    PACKETS.add(burst.len() as u64);
    BYTES.add(total);
}

// reads_meta = false: it reads no meta (the chain then need not parse for it); remove it to read record(i).meta.
netvm::nf!(init, process, reads_meta = false);
`;

const SOURCE_TEXT: Record<NfLang, (name: string) => string> = { as: asSource, c: cSource, rust: rustSource };

const test = (name: string): string => `// ${name}: runs over the bundled traffic offline (as \`netvm nf test\` does)
// and checks every packet against what the NF should do.
import t from 'tap';
import { join } from 'node:path';
import { runOffline } from '../host/chain/offline.js';
import { NF_ROOT, buildNfs } from '../host/nf/build.js';
import { loadNfModule } from '../host/nf/module.js';
import { readPcap } from '../host/pcap/index.js';

const DATA_ROOM = 2048;

t.test('${name} passes every packet unchanged and counts them', async (t) => {
  await buildNfs(['${name}']);
  const module = loadNfModule(join(NF_ROOT, 'build/${name}.wasm'));
  const frames = readPcap(join(NF_ROOT, '../examples/traffic.pcap')).packets.map((p) => p.data);
  const result = runOffline(frames, [{ name: '${name}', module }]);
  const fitting = frames.filter((f) => f.length <= DATA_ROOM);
  t.same(result.out.map((p) => Buffer.from(p.data)), fitting.map((f) => Buffer.from(f)), 'same packets, same order');
  t.equal(result.nfs[0]!.metrics['packets'], fitting.length);
});
`;

/** Writes the new NF's files; returns their paths, relative to the project. */
export function scaffoldNf(name: string, lang: NfLang = 'as'): string[] {
  if (!NAME.test(name)) throw new Error(`nf new: '${name}' is not a valid NF name (lower-case letters, digits and '-', starting with a letter)`);
  const root = join(NF_ROOT, '..');
  const dir = join(NF_ROOT, name);
  const testFile = join(root, 'test', `nf-${name}.test.ts`);
  for (const path of [dir, testFile]) {
    if (existsSync(path)) throw new Error(`nf new: ${relative(root, path)} exists already`);
  }
  const file = NF_SOURCES[lang];
  mkdirSync(dir);
  writeFileSync(join(dir, file), SOURCE_TEXT[lang](name));
  writeFileSync(testFile, test(name));
  return [join(dir, file), testFile].map((p) => relative(root, p));
}
