// Writes the demo traffic (test/support/traffic.ts documents the frame order)
// to examples/traffic.pcap, or to the path given as the first argument.
// Timestamps start at a fixed epoch and step 1 µs per frame, so the output is
// byte-identical on every run.
//
//   node dist/scripts/gen-traffic.js [out.pcap]
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writePcap } from '../host/pcap/index.js';
import { generateTraffic } from '../test/support/traffic.js';

const EPOCH_NS = 1_700_000_000n * 1_000_000_000n;
const STEP_NS = 1_000n;

// Resolved from the compiled location, dist/scripts/.
const defaultPath = fileURLToPath(new URL('../../examples/traffic.pcap', import.meta.url));
const outPath = resolve(process.argv[2] ?? defaultPath);

const packets = generateTraffic().map((data, i) => ({ data, tsNs: EPOCH_NS + BigInt(i) * STEP_NS }));
mkdirSync(dirname(outPath), { recursive: true });
writePcap(outPath, packets);
console.log(`wrote ${packets.length} frames to ${outPath}`);
