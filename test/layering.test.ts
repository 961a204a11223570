// host/, bench/ and scripts/ stand in layers: no module imports, directly or
// through others, a module that imports it (madge over the TypeScript sources,
// type-only imports included).
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './support/fixtures.js';

t.test('no import cycles', async (t) => {
  const out = execFileSync(join(REPO_ROOT, 'node_modules/.bin/madge'),
    ['--circular', '--json', '--extensions', 'ts', '--ts-config', 'tsconfig.json', 'host/', 'bench/', 'scripts/'],
    { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const cycles = JSON.parse(out) as string[][];
  t.same(cycles.map((c) => c.join(' > ')), [], 'madge finds no cycle');
});

// The control path (the CLI, the config, a run and what it runs, the API) reads as
// functions of a screen or less: none over 60 lines.
t.test('no function on the control path over 60 lines', async (t) => {
  const { default: ts } = await import('typescript');
  const dirs = ['host/config', 'host/run', 'host/runtime', 'host/api'];
  const files = ['host/cli.ts', ...dirs.flatMap((d) => readdirSync(join(REPO_ROOT, d)).filter((f) => f.endsWith('.ts')).map((f) => `${d}/${f}`))];
  const long: string[] = [];
  for (const file of files) {
    const src = ts.createSourceFile(file, readFileSync(join(REPO_ROOT, file), 'utf8'), ts.ScriptTarget.Latest, true);
    const visit = (node: import('typescript').Node): void => {
      if (ts.isFunctionLike(node) && 'body' in node && node.body !== undefined) {
        const first = src.getLineAndCharacterOfPosition(node.getStart()).line;
        const lines = src.getLineAndCharacterOfPosition(node.end).line - first + 1;
        if (lines > 60) long.push(`${file}:${first + 1} (${lines} lines)`);
      }
      ts.forEachChild(node, visit);
    };
    visit(src);
  }
  t.same(long, [], 'every function is 60 lines or less');
});
