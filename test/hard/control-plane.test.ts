// The control API under hostile callers: no token or a wrong one, malformed
// JSON, bodies of the wrong shape, oversized bodies, unknown calls; each is
// refused with a status and a reason, and the data plane forwards on
// regardless. The API listens on loopback only: any other address is refused.
import t from 'tap';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { parseControlAddress, tokenPath } from '../../host/api/api.js';
import { REPO_ROOT } from '../support/fixtures.js';
import { reportClass, type ClassTally } from '../support/hard.js';
import { netvm } from '../support/cli.js';
import { runNetvm, startNetvm, tempDir, totals } from '../support/netvm.js';

const PORT = 7393;
const tally: ClassTally = { tried: 0, contained: 0, lost: 0 };
const config = {
  cores: { poll: 1, workers: [0] },
  ports: { src: 'net_null0,size=64,copy=1', sink: 'net_null1' },
  nfs: { fwd: { module: join(REPO_ROOT, 'nf-modules/build/forward.wasm') } },
  chains: [{ name: 'main', from: 'src', through: ['fwd'], to: 'sink' }],
};

/** Sends raw HTTP/1.1 bytes and returns the status line's code and the body. */
function raw(request: string | Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(PORT, '127.0.0.1');
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString()));
    socket.on('error', reject);
    socket.on('close', () => {
      const status = Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1]);
      resolve({ status, body: text.slice(text.indexOf('\r\n\r\n') + 4) });
    });
    socket.end(request);
  });
}

function call(method: string, path: string, token: string | undefined, body?: string, extraHeaders = ''): Promise<{ status: number; body: string }> {
  const auth = token === undefined ? '' : `Authorization: Bearer ${token}\r\n`;
  const length = body === undefined ? '' : `Content-Length: ${Buffer.byteLength(body)}\r\n`;
  return raw(`${method} ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${auth}${length}${extraHeaders}\r\n${body ?? ''}`);
}

t.test('hostile calls are refused with a reason; the data plane forwards on', async (t) => {
  const run = startNetvm(config, ['--control', `127.0.0.1:${PORT}`]);
  await run.waitFor(/\[\s+1s\]/);
  const tokenFile = tokenPath(parseControlAddress(`127.0.0.1:${PORT}`)!);
  t.equal(statSync(tokenFile).mode & 0o777, 0o600, 'the token file is readable by its owner only (0600)');
  const token = readFileSync(tokenFile, 'utf8').trim();
  const cases: [string, () => Promise<{ status: number; body: string }>, number, RegExp][] = [
    ['no token', () => call('GET', '/v1/stats', undefined), 401, /a bearer token is needed/],
    ['a wrong token', () => call('GET', '/v1/stats', 'f'.repeat(64)), 401, /a bearer token is needed/],
    ['a token of another scheme', () => call('GET', '/v1/stats', undefined, undefined, `Authorization: Basic ${token}\r\n`), 401, /a bearer token/],
    ['malformed JSON', () => call('POST', '/v1/chains/main/scale', token, '{"workers": 2'), 400, /the body is not JSON/],
    ['JSON of the wrong shape', () => call('POST', '/v1/chains/main/scale', token, '{"workers": "many"}'), 400, /workers/],
    ['an apply without a config', () => call('POST', '/v1/apply', token, '[1, 2, 3]'), 400, /config: required/],
    ['a swap of an NF that does not exist', () => call('POST', '/v1/nfs/nope/swap', token, '{"module": "/etc/passwd"}'), 404, /nope/],
    ['a swap to a file that is not a module', () => call('POST', '/v1/nfs/fwd/swap', token, '{"module": "/etc/passwd"}'), 422, /not a valid WebAssembly module/],
    ['an unknown call', () => call('DELETE', '/v1/everything', token), 404, /./],
    ['a declared body over 1 MiB', () => raw(`POST /v1/apply HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer ${token}\r\nContent-Length: 2000000\r\n\r\n{"config":`), 413, /the body is over 1048576 bytes/],
    ['a chunked body over 1 MiB', () => {
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const head = Buffer.from(`POST /v1/apply HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer ${token}\r\nTransfer-Encoding: chunked\r\n\r\n`);
      const parts = [head];
      for (let i = 0; i < 17; i++) parts.push(Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n'));
      parts.push(Buffer.from('0\r\n\r\n'));
      return raw(Buffer.concat(parts));
    }, 413, /the body is over 1048576 bytes/],
  ];
  for (const [name, send, status, reason] of cases) {
    tally.tried++;
    const r = await send().catch((err: Error) => ({ status: 0, body: err.message }));
    const ok = r.status === status && reason.test(r.body);
    t.ok(ok, `${name}: ${r.status} ${r.body.trim().slice(0, 120)}`);
    if (ok) tally.contained++;
  }
  const stats = await call('GET', '/v1/stats', token);
  t.equal(stats.status, 200, 'the right token still works');
  run.kill('SIGTERM');
  const r = await run.done;
  t.equal(r.code, 0, r.stderr);
  const s = r.summary!;
  const { rx, tx, drops } = totals(s);
  t.ok(tx > 0, 'the data plane forwarded throughout');
  t.equal(rx, tx + drops, 'in = out + counted drops');
  t.equal(s.chains[0]!.workers, 1, 'nothing changed: one worker');
  tally.lost += Math.abs(s.unaccounted);
});

t.test('the API listens on loopback only', async (t) => {
  for (const address of ['0.0.0.0:7070', '192.0.2.1:7070', '[::]:7070']) {
    tally.tried++;
    const r = await runNetvm(config, ['--control', address]);
    const ok = r.code === 2 && r.stderr.includes(`--control: '${address}' is not a loopback host:port`);
    t.ok(ok, `${address} refused`);
    if (ok) tally.contained++;
  }
  tally.tried++;
  const run = startNetvm(config, ['--control', `127.0.0.1:${PORT}`]);
  await run.waitFor(/\[\s+1s\]/);
  // /proc/net/tcp: local address 0100007F (127.0.0.1, little-endian) on our port, state 0A (listen).
  const listening = readFileSync('/proc/net/tcp', 'utf8').split('\n').filter((l) => / 0A /.test(l) && l.includes(`:${PORT.toString(16).toUpperCase().padStart(4, '0')} `));
  run.kill('SIGTERM');
  await run.done;
  t.ok(listening.length === 1 && listening[0]!.includes('0100007F:'), 'it listens on 127.0.0.1 only');
  if (listening.length === 1) tally.contained++;
});

t.test('on a unix socket: the CLI finds it and its token (0600), and both go with the run', async (t) => {
  const socket = join(tempDir(), 'control.sock');
  const address = `unix:${socket}`;
  const run = startNetvm(config, ['--control', address]);
  await run.waitFor(/\[\s+1s\]/);
  const tokenFile = tokenPath(parseControlAddress(address)!);
  t.equal(tokenFile, `${socket}.token`, 'the token beside the socket');
  t.ok(statSync(socket).isSocket(), 'the socket is there');
  t.equal(statSync(tokenFile).mode & 0o777, 0o600, 'the token file is readable by its owner only (0600)');
  const stats = await netvm(['stats', '--control', address]);
  t.equal(stats.code, 0, stats.stderr);
  t.match(stats.stdout, /port src: rx [1-9]\d*/, 'netvm stats over the socket: the data plane forwards');
  const stop = await netvm(['stop', '--control', address]);
  t.equal(stop.code, 0, stop.stderr);
  const r = await run.done;
  t.equal(r.code, 0, r.stderr);
  t.same([existsSync(socket), existsSync(tokenFile)], [false, false], 'socket and token removed at the end');
});

t.teardown(() => reportClass(t, 'control plane', tally));
