// The control API of a running data plane: HTTP with JSON bodies, on
// 127.0.0.1:<port> or a unix socket, every call guarded by a bearer token.
// The token is made at start and written, mode 0600, where the CLI client
// finds it (tokenPath); only who can read that file can call the API.
// docs/control-api.md lists the calls.
import { DASHBOARD_FILES } from './dashboard.js';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';

export type ControlAddress = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

export const DEFAULT_CONTROL = '127.0.0.1:7070';
const TOKEN_DIR = '/run/netvm';
const MAX_BODY_BYTES = 1024 * 1024;

/** Parses --control: "host:port" (a loopback address), "unix:<path>", or "off" (undefined). */
export function parseControlAddress(text: string): ControlAddress | undefined {
  if (text === 'off') return undefined;
  if (text.startsWith('unix:')) {
    const path = text.slice(5);
    if (!path.startsWith('/')) throw new Error(`'${text}': the socket path must be absolute`);
    return { kind: 'unix', path };
  }
  const m = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\]):(\d+)$/.exec(text);
  const port = Number(m?.[2]);
  if (!m || !(port >= 1 && port <= 65535)) {
    throw new Error(`'${text}' is not a loopback host:port (like ${DEFAULT_CONTROL}), unix:<path> or off`);
  }
  return { kind: 'tcp', host: m[1] === '[::1]' ? '::1' : m[1]!, port };
}

/** Where the token of an address is kept. */
export function tokenPath(a: ControlAddress): string {
  return a.kind === 'unix' ? `${a.path}.token` : join(TOKEN_DIR, `control-${a.host}-${a.port}.token`);
}

export function describeAddress(a: ControlAddress): string {
  return a.kind === 'unix' ? `unix:${a.path}` : `http://${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
}

/** A call's answer: status code and JSON body (or, with a content type, text as it is). */
export interface Reply {
  status: number;
  body: unknown;
  contentType?: string;
}

/** What the API does; each returns the reply (errors are replies too). */
export interface ControlHandlers {
  route(method: string, path: string, body: unknown): Promise<Reply>;
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

function send(res: ServerResponse, reply: Reply): void {
  const text = reply.contentType !== undefined ? String(reply.body) : `${JSON.stringify(reply.body, null, 1)}\n`;
  res.writeHead(reply.status, { 'content-type': reply.contentType ?? 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** A request the API refuses before routing it, with its status. */
class RequestError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const tooLarge = new RequestError(413, `the body is over ${MAX_BODY_BYTES} bytes`);
  if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) throw tooLarge;
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw tooLarge;
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (err) {
    throw new RequestError(400, `the body is not JSON: ${(err as Error).message}`);
  }
}

/** A unix socket left by a run that died: nobody answers on it. */
function staleSocket(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

export interface ControlServer {
  address: ControlAddress;
  close(): Promise<void>;
}

export async function startControlServer(address: ControlAddress, handlers: ControlHandlers): Promise<ControlServer> {
  const token = randomBytes(32).toString('hex');
  const expected = digest(`Bearer ${token}`);
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    // The dashboard's own files hold no data: they need no token. The page reads it from its
    // address (?token=) and sends it with every call, like the CLI.
    const pageFile = req.method === 'GET' && url.pathname in DASHBOARD_FILES;
    if (!pageFile && !timingSafeEqual(digest(req.headers.authorization ?? ''), expected)) {
      send(res, { status: 401, body: { error: `a bearer token is needed: the one in ${tokenPath(address)}` } });
      return;
    }
    readBody(req)
      .then((body) => handlers.route(req.method ?? 'GET', url.pathname, body))
      .then((reply) => send(res, reply))
      .catch((err: unknown) => {
        // A body refused unread: the connection closes after the answer.
        if (err instanceof RequestError && err.status === 413) res.shouldKeepAlive = false;
        send(res, { status: err instanceof RequestError ? err.status : 400, body: { error: (err as Error).message } });
      });
  });
  if (address.kind === 'unix' && existsSync(address.path)) {
    if (!(await staleSocket(address.path))) throw new Error(`control API: ${address.path} is in use (another netvm run?): use --control`);
    rmSync(address.path);
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new Error(`control API: cannot listen on ${describeAddress(address)}: ${err.code === 'EADDRINUSE' ? 'in use (another netvm run?): use --control' : err.message}`)),
    );
    if (address.kind === 'unix') server.listen(address.path, resolve);
    else server.listen(address.port, address.host, resolve);
  });
  const file = tokenPath(address);
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  rmSync(file, { force: true }); // a file left by a killed run would keep its mode
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return {
    address,
    close: async () => {
      rmSync(file, { force: true });
      if (address.kind === 'tcp') {
        try {
          rmdirSync(TOKEN_DIR); // only when no other run keeps its token there
        } catch {
          // not empty
        }
      }
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (address.kind === 'unix') rmSync(address.path, { force: true });
    },
  };
}
