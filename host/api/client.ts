// The control API's client: one call of a running `netvm run`, with the token
// that run wrote.
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { describeAddress, tokenPath, type ControlAddress } from './api.js';

export interface Answer {
  status: number;
  body: Record<string, unknown>;
}

/** One call of the control API of the run at `address`, with the token that run wrote. */
export async function controlCall(address: ControlAddress, method: string, path: string, body?: unknown): Promise<Answer> {
  let token: string;
  try {
    token = readFileSync(tokenPath(address), 'utf8').trim();
  } catch {
    throw new Error(`no netvm run serves ${describeAddress(address)} (no token at ${tokenPath(address)})`);
  }
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        method, path,
        ...(address.kind === 'unix' ? { socketPath: address.path } : { host: address.host, port: address.port }),
        headers: { authorization: `Bearer ${token}`, ...(payload !== undefined && { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }) },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> });
          } catch {
            reject(new Error(`${describeAddress(address)} answered ${res.statusCode} with something that is not JSON`));
          }
        });
      },
    );
    req.on('error', (err) => reject(new Error(`cannot reach ${describeAddress(address)}: ${err.message}`)));
    req.end(payload);
  });
}
