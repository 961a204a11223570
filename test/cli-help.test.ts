// `netvm --help` and `netvm <command> --help` (or -h) print that command's usage
// on stdout and exit 0, without running anything; a bad command still exits 2.
import t from 'tap';
import { netvm } from './support/cli.js';

const COMMANDS: [string[], RegExp][] = [
  [['run'], /^usage: netvm run <config\.yaml> \[options\]/],
  [['status'], /^usage: netvm status/],
  [['swap', 'firewall'], /^usage: netvm status[\s\S]*netvm swap <nf> <module\.wasm>/],
  [['capture', 'rx:in'], /^usage: netvm status[\s\S]*netvm capture/],
  [['nf'], /^usage: netvm nf test/],
  [['nf', 'test', 'x.wasm'], /^usage: netvm nf test/],
  [['nf', 'new'], /^usage: netvm nf test[\s\S]*netvm nf new/],
  [['bench'], /^usage: netvm bench \[--quick\]/],
];

t.test('every command: --help (and -h) print its usage and exit 0', async (t) => {
  for (const [args, usage] of COMMANDS) {
    // -h on two: each call starts a node process (the control commands share one usage).
    for (const flag of ['run', 'bench'].includes(args[0]!) ? ['--help', '-h'] : ['--help']) {
      const r = await netvm([...args, flag]);
      t.same({ code: r.code, stderr: r.stderr }, { code: 0, stderr: '' }, `netvm ${args.join(' ')} ${flag}: exit 0, nothing on stderr`);
      t.match(r.stdout, usage, `netvm ${args.join(' ')} ${flag}: its usage`);
    }
  }
});

t.test('netvm --help and netvm help: the whole usage, exit 0; netvm alone: exit 2', async (t) => {
  for (const args of [['--help'], ['help']]) {
    const r = await netvm(args);
    t.equal(r.code, 0, `netvm ${args.join(' ')}`);
    t.match(r.stdout, /usage: netvm run[\s\S]*usage: netvm status[\s\S]*usage: netvm nf test[\s\S]*usage: netvm bench/);
  }
  const none = await netvm([]);
  t.equal(none.code, 2);
  t.match(none.stdout, /^usage: netvm run/);
});

t.test('an unknown command is refused even with --help; after -- it is an argument', async (t) => {
  const r = await netvm(['bogus', '--help']);
  t.equal(r.code, 2);
  t.match(r.stderr, /^netvm: unknown command 'bogus'/);
  const after = await netvm(['run', '--', '--help']);
  t.equal(after.code, 2, 'run -- --help: --help is the config file');
  t.match(after.stderr, /^netvm: --help: invalid config:\n {2}cannot read the file/);
});
