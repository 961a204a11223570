// NF state saved to a file (netvm nf test --state-out / --state-in): JSON,
// the state of each NF by its name, base64-encoded:
//   { "format": "netvm-state/1", "nfs": { "<nf name>": "<base64>" } }
import { readFileSync, writeFileSync } from 'node:fs';

const FORMAT = 'netvm-state/1';

export function writeStateFile(path: string, states: Map<string, Uint8Array>): void {
  const nfs = Object.fromEntries([...states].map(([name, bytes]) => [name, Buffer.from(bytes).toString('base64')]));
  writeFileSync(path, `${JSON.stringify({ format: FORMAT, nfs }, null, 1)}\n`);
}

export function readStateFile(path: string): Map<string, Uint8Array> {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`${path}: not a NetVM state file: ${(err as Error).message}`);
  }
  const { format, nfs } = (doc ?? {}) as { format?: unknown; nfs?: unknown };
  if (format !== FORMAT) throw new Error(`${path}: format is ${JSON.stringify(format)}, not "${FORMAT}"`);
  if (typeof nfs !== 'object' || nfs === null || Array.isArray(nfs)) throw new Error(`${path}: nfs must be an object of NF name to base64 state`);
  const states = new Map<string, Uint8Array>();
  for (const [name, text] of Object.entries(nfs)) {
    if (typeof text !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw new Error(`${path}: nfs.${name} is not base64 text`);
    states.set(name, Buffer.from(text, 'base64'));
  }
  return states;
}
