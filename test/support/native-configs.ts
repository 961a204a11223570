// Checking a C NF (nf-modules/native) beside its Wasm NF: it takes and refuses
// the configs the Wasm NF does (each config given to both; one the Wasm NF
// refuses naming a field, the C one refuses naming the same field), and both
// see the same mangled frames.
import type { Test } from 'tap';
import { createNfInstance } from '../../host/nf/instance.js';
import { NfModuleError, type NfModule } from '../../host/nf/module.js';
import { inputFrames } from './pcap-ports.js';

/** What an instance of nf makes of config: 'accepted', or the refusal's message. */
export function refusal(nf: NfModule, name: string, config: unknown): string {
  try {
    createNfInstance(nf, name, { ...(config !== undefined && { config: JSON.stringify(config) }), log: () => {} });
    return 'accepted';
  } catch (err) {
    return err instanceof NfModuleError ? err.message : String(err);
  }
}

/** Each [config, the field a refusal names (undefined: accepted)] given to both modules. */
export function sameRefusals(t: Test, name: string, wasm: NfModule, native: NfModule, configs: [unknown, string | undefined][]): void {
  for (const [config, field] of configs) {
    const what = JSON.stringify(config);
    const w = refusal(wasm, name, config);
    const c = refusal(native, name, config);
    if (field === undefined) {
      t.equal(w, 'accepted', `Wasm accepts ${what}`);
      t.equal(c, 'accepted', `C accepts ${what}`);
    } else {
      t.match(w, `config: ${field}: `, `Wasm refuses ${what}, naming ${field}`);
      t.equal(c.startsWith(`${native.path}: ${name}: ${field}: `), true, `C refuses ${what}, naming ${field}: ${c}`);
    }
  }
}

/** Every third truncation of the bundled frames (up to 120 bytes) and four random
 *  corruptions of each one's first 80 bytes, from a seed: where parsing's bounds checks decide. */
export function mangledFrames(seed: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
  for (const f of inputFrames()) {
    if (f.length > 2048) continue;
    for (let len = 1; len <= Math.min(f.length, 120); len += 3) out.push(f.slice(0, len));
    for (let k = 0; k < 4; k++) {
      const g = Uint8Array.from(f);
      for (let flips = rand(4) + 1; flips > 0; flips--) g[rand(Math.min(g.length, 80))] = rand(256);
      out.push(g);
    }
  }
  return out;
}
