// host/, bench/ and scripts/ stand in layers: no module imports, directly or
// through others, a module that imports it (madge over the TypeScript sources,
// type-only imports included).
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './support/fixtures.js';

t.test('no import cycles', async (t) => {
  const out = execFileSync(join(REPO_ROOT, 'node_modules/.bin/madge'),
    ['--circular', '--json', '--extensions', 'ts', '--ts-config', 'tsconfig.json', 'host/', 'bench/', 'scripts/'],
    { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const cycles = JSON.parse(out) as string[][];
  t.same(cycles.map((c) => c.join(' > ')), [], 'madge finds no cycle');
});
