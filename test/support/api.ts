// A GET on a running netvm's control API (loopback port), with the token the
// run wrote: what a monitoring script would read.
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { parseControlAddress, tokenPath } from '../../host/api/api.js';

export function apiGet<T>(port: number, path: string): Promise<T> {
  const token = readFileSync(tokenPath(parseControlAddress(`127.0.0.1:${port}`)!), 'utf8').trim();
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, headers: { authorization: `Bearer ${token}` } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(JSON.parse(body) as T));
    }).on('error', reject).end();
  });
}
