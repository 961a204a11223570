// The run's log: JSON records on stderr (not a terminal here), one a line,
// with pino's level, time and message, and the fields of what it is about;
// --log-level hides what is below it; the rates and summary stay on stdout.
import t from 'tap';
import { join } from 'node:path';
import { fixtureNf, REPO_ROOT } from './support/fixtures.js';
import { runNetvm, tempDir } from './support/netvm.js';
import { TRAFFIC } from './support/pcap-ports.js';

const config = (trappy: string): object => ({
  cores: { poll: 1, workers: [0] },
  ports: { in: `net_pcap0,rx_pcap=${TRAFFIC}`, out: 'net_null0' },
  nfs: { ttl: { module: join(REPO_ROOT, 'nf-modules/build/ttl.wasm') }, trappy: { module: trappy } },
  chains: [{ from: 'in', through: ['ttl', 'trappy'], to: 'out' }],
});

t.test('JSON records on stderr, filtered by --log-level', async (t) => {
  const trappy = await fixtureNf('trap-first-burst');
  const r = await runNetvm(config(trappy), ['--until-idle', '300', '--control', '127.0.0.1:7177'], tempDir());
  t.equal(r.code, 0, r.stderr);
  const records = r.stderr.trim().split('\n').map((line) => JSON.parse(line) as { level: number; time: number; msg: string; nf?: string; address?: string });
  t.ok(records.every((x) => typeof x.level === 'number' && typeof x.time === 'number' && typeof x.msg === 'string'), 'every line a pino record');
  t.ok(records.some((x) => x.level === 30 && x.address === 'http://127.0.0.1:7177' && /^control API on /.test(x.msg)), 'the control API, at info');
  t.ok(records.some((x) => x.level === 50 && x.nf === 'trappy' && /trapped/.test(x.msg)), 'the trap, at error, with its NF');
  t.match(r.stdout, /summary: /, 'the summary on stdout');

  const quiet = await runNetvm(config(trappy), ['--until-idle', '300', '--control', '127.0.0.1:7177', '--log-level', 'error'], tempDir());
  t.equal(quiet.code, 0, quiet.stderr);
  const levels = quiet.stderr.trim().split('\n').map((line) => (JSON.parse(line) as { level: number }).level);
  t.ok(levels.length > 0 && levels.every((l) => l >= 50), 'only errors at --log-level error');

  const bad = await runNetvm(config(trappy), ['--log-level', 'loud']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /--log-level: 'loud' is not one of trace, debug, info, warn, error, fatal, silent/);
});
