// The run's log: JSON records on stderr (not a terminal here), one a line,
// with pino's level, time and message, and the fields of what it is about;
// --log-level hides what is below it; the rates and summary stay on stdout.
import t from 'tap';
import { join } from 'node:path';
import { fixtureNf, REPO_ROOT } from './support/fixtures.js';
import { logMessages, runNetvm, tempDir } from './support/netvm.js';
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

t.test('an NF\'s log is limited to 20 lines a second; the rest are counted and said', async (t) => {
  const r = await runNetvm({
    cores: { poll: 1, workers: [0] },
    ports: { in: 'net_null0,size=64,copy=1', out: 'net_null1' },
    nfs: { chatty: { module: await fixtureNf('log-every-packet') } },
    chains: [{ from: 'in', through: ['chatty'], to: 'out' }],
  }, ['--duration', '2.5', '--rx-pps', '2000', '--control', 'off']);
  t.equal(r.code, 0, r.stderr);
  const lines = logMessages(r.stderr).filter((m) => m.startsWith('nf chatty'));
  // Windows of the limit, each ended by the line that says how many it held back.
  const windows: { said: number; suppressed: number }[] = [{ said: 0, suppressed: 0 }];
  for (const m of lines) {
    const notice = /^nf chatty: (\d+) log lines suppressed$/.exec(m);
    if (notice) {
      windows.at(-1)!.suppressed = Number(notice[1]);
      windows.push({ said: 0, suppressed: 0 });
    } else if (m === 'nf chatty info: a packet') {
      windows.at(-1)!.said++;
    }
  }
  const ended = windows.slice(0, -1);
  t.ok(ended.length >= 1, `${ended.length} window(s) over their limit`);
  t.ok(windows.every((w) => w.said <= 20), `at most 20 lines a window (${windows.map((w) => w.said).join(', ')})`);
  t.ok(ended.every((w) => w.said === 20 && w.suppressed > 0), 'a window says how many it held back only once it printed its 20');
  const calls = r.summary!.chains[0]!.nfs[0]!.in;
  const told = windows.reduce((n, w) => n + w.said + w.suppressed, 0);
  t.ok(told <= calls && told > calls - 2500, `every line printed or counted, but the last window's held-back ones (${told} of ${calls})`);
});
