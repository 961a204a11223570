// netvm nf new scaffolds an NF whose own test passes at once, in AssemblyScript,
// C or Rust; netvm nf build compiles it, and points at the AssemblyScript line
// when it does not compile (test/nf-c-rust.test.ts: the C and Rust lines).
import t from 'tap';
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './support/fixtures.js';
import { netvm } from './support/cli.js';

const NAME = `zz-scaffold-${process.pid}`;
const OTHER_LANGS = ['c', 'rust'];
const langName = (lang: string): string => `zz-scaffold-${lang}-${process.pid}`;
const filesOf = (name: string): string[] => [
  join(REPO_ROOT, 'nf-modules', name),
  join(REPO_ROOT, 'test', `nf-${name}.test.ts`),
  join(REPO_ROOT, 'nf-modules/build', `${name}.wasm`),
  join(REPO_ROOT, 'nf-modules/build', `${name}.debug.wasm`),
  join(REPO_ROOT, 'nf-modules/build', `${name}.debug.wasm.map`),
];
const files = filesOf(NAME);
t.teardown(() => [...files, ...OTHER_LANGS.flatMap((lang) => filesOf(langName(lang)))].forEach((f) => rmSync(f, { recursive: true, force: true })));

async function tap(file: string): Promise<number | null> {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'node_modules/tap/dist/esm/run.mjs'), file], { cwd: REPO_ROOT, stdio: 'ignore' });
  return new Promise((resolve) => child.on('close', resolve));
}

t.test('a new NF builds and passes its own test straight away', async (t) => {
  const created = await netvm(['nf', 'new', NAME]);
  t.equal(created.code, 0, created.stderr);
  t.match(created.stdout, `created nf-modules/${NAME}/index.ts\ncreated test/nf-${NAME}.test.ts`);
  const built = await netvm(['nf', 'build', NAME]);
  t.equal(built.code, 0, built.stderr);
  t.match(built.stdout, `built: ${NAME}`);
  t.ok(existsSync(files[2]!) && existsSync(files[3]!), 'release and debug modules');
  t.equal(await tap(`test/nf-${NAME}.test.ts`), 0, 'its test passes');

  const again = await netvm(['nf', 'new', NAME]);
  t.equal(again.code, 1);
  t.match(again.stderr, `netvm: nf new: nf-modules/${NAME} exists already`);
});

for (const [lang, file] of [['c', 'nf.c'], ['rust', 'nf.rs']] as const) {
  t.test(`--lang ${lang}: a new NF in ${lang} builds and passes the same test straight away`, async (t) => {
    const name = langName(lang);
    const created = await netvm(['nf', 'new', name, '--lang', lang]);
    t.equal(created.code, 0, created.stderr);
    t.match(created.stdout, `created nf-modules/${name}/${file}\ncreated test/nf-${name}.test.ts`);
    const built = await netvm(['nf', 'build', name]);
    t.equal(built.code, 0, built.stderr);
    t.equal(await tap(`test/nf-${name}.test.ts`), 0, 'its test passes');
  });
}

t.test('--lang takes as, c or rust', async (t) => {
  const other = await netvm(['nf', 'new', 'zz-other', '--lang', 'cobol']);
  t.equal(other.code, 2);
  t.match(other.stderr, "netvm: --lang: 'cobol' is not one of as, c, rust");
});

t.test('a compile error points at the source line', async (t) => {
  appendFileSync(join(files[0]!, 'index.ts'), 'export function broken(): i32 { return undefinedName; }\n');
  const built = await netvm(['nf', 'build', NAME]);
  t.equal(built.code, 1);
  t.match(built.stderr, "ERROR TS2304: Cannot find name 'undefinedName'.");
  t.match(built.stderr, new RegExp(`in nf-modules/${NAME}/index\\.ts\\(\\d+,\\d+\\)`));
});

t.test('names are checked', async (t) => {
  const bad = await netvm(['nf', 'new', 'Bad Name']);
  t.equal(bad.code, 1);
  t.match(bad.stderr, "netvm: nf new: 'Bad Name' is not a valid NF name");
});
