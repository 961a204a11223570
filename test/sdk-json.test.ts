// The SDK's JSON parser (nf-modules/sdk/json.ts) against JSON.parse, its error
// messages, a large config, ConfigReader's messages, and a fuzz loop.
import t from 'tap';
import { harness, type Harness } from './support/harness.js';

type Fn = (...args: number[]) => number;
const INPUT = 65536; // every input is written here (below the module's data)

interface Json {
  h: Harness;
  /** Parses UTF-8 bytes (the NF's path); the dump (keys sorted or in text order) or the error. */
  parse8(input: string | Uint8Array, sorted?: boolean): Result;
  /** Parses a JS string exactly as it is (UTF-16, lone surrogates and all). */
  parse16(input: string, sorted?: boolean): Result;
  query(path: string): string;
  call(name: string, input: string): string;
  str(ptr: number): string;
  fn(name: string): Fn;
}

interface Result {
  ok: boolean;
  dump?: string;
  error?: string;
}

async function load(): Promise<Json> {
  const h = await harness('json');
  const fn = (name: string) => h.exports[name] as unknown as Fn;
  const str = (ptr: number): string => {
    ptr >>>= 0;
    const units = new DataView(h.memory.buffer).getUint32(ptr - 4, true) >>> 1;
    const u16 = new Uint16Array(h.memory.buffer, ptr, units);
    let s = '';
    for (let i = 0; i < units; i += 8192) s += String.fromCharCode(...u16.subarray(i, i + 8192));
    return s;
  };
  const put8 = (input: string | Uint8Array): [number, number] => {
    const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
    return [h.put(bytes, INPUT), bytes.length];
  };
  const result = (ok: number, sorted: boolean): Result =>
    ok ? { ok: true, dump: str(fn('dump')(sorted ? 1 : 0)) } : { ok: false, error: str(fn('error')()) };
  return {
    h,
    fn,
    str,
    parse8: (input, sorted = true) => result(fn('parseUtf8')(...put8(input)), sorted),
    parse16(input, sorted = true) {
      const bytes = new Uint8Array(input.length * 2);
      const view = new DataView(bytes.buffer);
      for (let i = 0; i < input.length; i++) view.setUint16(i * 2, input.charCodeAt(i), true);
      return result(fn('parseUtf16')(h.put(bytes, INPUT), input.length), sorted);
    },
    query: (path) => str(fn('query')(...put8(path))),
    call: (name, input) => str(fn(name)(...put8(input))),
  };
}

// The fixture's canonical dump of a JS value: n t f, d<f64 bits in hex>,
// s<length>"<string>, [items], {key value ...} (keys sorted by code units).
function bits(x: number): string {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  return view.getBigUint64(0).toString(16).padStart(16, '0');
}

function canon(v: unknown, sorted = true): string {
  if (v === null) return 'n';
  if (v === true) return 't';
  if (v === false) return 'f';
  if (typeof v === 'number') return 'd' + bits(v);
  if (typeof v === 'string') return `s${v.length}"${v}`;
  if (Array.isArray(v)) return '[' + v.map((x) => canon(x, sorted)).join('') + ']';
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  if (sorted) keys.sort();
  return '{' + keys.map((k) => `s${k.length}"${k}` + canon(o[k], sorted)).join('') + '}';
}

function jsParse(text: string): Result {
  try {
    return { ok: true, dump: canon(JSON.parse(text)) };
  } catch {
    return { ok: false };
  }
}

// AssemblyScript's String.UTF8.decodeUnsafe (what configText does), including
// what it makes of bytes that are not UTF-8, so that JSON.parse sees the same text.
function asDecodeUtf8(b: Uint8Array): string {
  const units: number[] = [];
  let i = 0;
  while (i < b.length) {
    let u0 = b[i++];
    if (!(u0 & 128)) {
      units.push(u0);
      continue;
    }
    if (i === b.length) break;
    const u1 = b[i++] & 63;
    if ((u0 & 224) === 192) {
      units.push(((u0 & 31) << 6) | u1);
      continue;
    }
    if (i === b.length) break;
    const u2 = b[i++] & 63;
    if ((u0 & 240) === 224) {
      u0 = ((u0 & 15) << 12) | (u1 << 6) | u2;
    } else {
      if (i === b.length) break;
      u0 = ((u0 & 7) << 18) | (u1 << 12) | (u2 << 6) | (b[i++] & 63);
    }
    if (u0 < 0x10000) {
      units.push(u0);
    } else {
      u0 -= 0x10000;
      units.push((u0 >> 10) | 0xd800, (u0 & 0x3ff) | 0xdc00);
    }
  }
  let s = '';
  for (let k = 0; k < units.length; k += 8192) s += String.fromCharCode(...units.slice(k, k + 8192));
  return s;
}

// A small deterministic PRNG (mulberry32), so that a failure can be replayed.
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const VALID = [
  'null', 'true', 'false', '0', '-0', '1', '-1', '1e-7', '1.5E+3', '12345678901234', '-12345678901234567890',
  '0.1', '123.456e-2', '1E2', '1e+2', '0e400', '1e400', '-1e400', '1e-400', '5e-324', '1.7976931348623157e308',
  '9007199254740993', '1e99999999999999999999', '-1e-99999999999999999999', '0.' + '0'.repeat(1000) + '1e1005',
  '1' + '0'.repeat(1000) + 'e-1000', '-0.0e-5', '2.2250738585072011e-308', '0.30000000000000004', '1023', '1024',
  '""', '"abc"', '"\\" \\\\ \\/ \\b \\f \\n \\r \\t"', '"\\u0041\\u00e9\\u4E2D\\ud83d\\ude00"', '"\\ud800"',
  '"\\udc00x"', '"\\u0000"', '"é中😀"', '"a/b"', '"' + 'x'.repeat(40) + '"', '"' + 'y'.repeat(32) + '"',
  '[]', '[ ]', '{}', '{ }', ' \t\r\n[1 , 2 ,\n3] \n', '[[[]]]', '[1,"a",true,null,{"x":[]}]',
  '{"a":{"b":{"c":[1,{"d":null}]}}}', '{"a":1,"a":2}', '{"":0}', '{"__proto__":1}', '{"1":1,"0":0,"b":2}',
  '{"a\\u0000b":1,"a":2}', '[' + '[1],'.repeat(100) + '2]',
  '{' + Array.from({ length: 100 }, (_, i) => `"k${(i * 37) % 100}":${i}`).join(',') + ',"k5":"dup"}',
  '[' + '['.repeat(63) + ']'.repeat(63) + ']',
];

t.test('valid JSON parses as JSON.parse parses it', async (t) => {
  const j = await load();
  for (const text of VALID) {
    const want = jsParse(text);
    t.ok(want.ok, `JSON.parse takes ${text.slice(0, 40)}`);
    t.same(j.parse8(text), want, `utf-8: ${text.slice(0, 60)}`);
    t.same(j.parse16(text), want, `utf-16: ${text.slice(0, 60)}`);
  }
});

t.test('objects keep the text order; a duplicate key keeps its first place, with the last value', async (t) => {
  const j = await load();
  t.equal(j.parse8('{"b":1,"a":2,"c":3,"a":4}', false).dump, canon({ b: 1, a: 4, c: 3 }, false));
  const keys = Array.from({ length: 100 }, (_, i) => `k${99 - i}`);
  const text = '{' + keys.map((k, i) => `"${k}":${i}`).join(',') + ',"k50":-1}';
  const expected = Object.fromEntries(keys.map((k, i) => [k, k === 'k50' ? -1 : i]));
  t.equal(j.parse8(text, false).dump, canon(expected, false), '100 keys (hash index), text order');
  t.equal(j.parse8(text, true).dump, canon(expected, true), '100 keys through get');
  t.equal(j.query('k50'), canon(-1), 'get finds the duplicate\'s last value');
  t.equal(j.query('k0'), canon(99));
  t.equal(j.query('nope'), '', 'an absent key is null');
});

const INVALID: Array<[string, string]> = [
  ['', 'at 0: unexpected end of input'],
  ['   ', 'at 3: unexpected end of input'],
  ['{"a" 1}', "at 5: expected ':' after object key"],
  ['{"port":1,"name" "x"}', "at 17: expected ':' after object key"],
  ['[1,"abc', 'at 3: unterminated string'],
  ['"abc\\', 'at 0: unterminated string'],
  ['"\\u12', 'at 0: unterminated string'],
  ['[1,2] x', 'at 6: trailing characters'],
  ['{"a":1}}', 'at 7: trailing characters'],
  ['[1]\u0000', 'at 3: trailing characters'],
  ['01', 'at 0: leading zero in number'],
  ['[-01]', 'at 1: leading zero in number'],
  ['-', "at 1: expected a digit after '-'"],
  ['-a', "at 1: expected a digit after '-'"],
  ['1.', "at 2: expected a digit after '.'"],
  ['1.e5', "at 2: expected a digit after '.'"],
  ['.5', "at 0: unexpected character '.'"],
  ['1e', 'at 2: expected a digit in exponent'],
  ['1e+', 'at 3: expected a digit in exponent'],
  ['+1', "at 0: unexpected character '+'"],
  ['[1,]', 'at 2: trailing comma'],
  ['{"a":1 , }', 'at 7: trailing comma'],
  ['[1 2]', "at 3: expected ',' or ']' after array item"],
  ['{"a":1 "b":2}', "at 7: expected ',' or '}' after object member"],
  ['{a:1}', 'at 1: expected a string as object key'],
  ['{"a":1,2:1}', 'at 7: expected a string as object key'],
  ['[', 'at 1: unexpected end of input'],
  ['{', 'at 1: unexpected end of input'],
  ['{"a"', 'at 4: unexpected end of input'],
  ['{"a":', 'at 5: unexpected end of input'],
  ['[1', 'at 2: unexpected end of input'],
  ['tru', 'at 0: invalid literal (expected true, false or null)'],
  ['[nulx]', 'at 1: invalid literal (expected true, false or null)'],
  ['True', "at 0: unexpected character 'T'"],
  ['"\\x"', 'at 1: invalid escape \\x'],
  ['"\\u12g4"', 'at 1: invalid \\u escape (needs 4 hex digits)'],
  ['"a\u0001"', 'at 2: control character in string (write it as an escape)'],
  ['"a\nb"', 'at 2: control character in string (write it as an escape)'],
  ['\u00a01', 'at 0: unexpected character U+00A0'],
  ['\ufeff1', 'at 0: unexpected character U+FEFF'],
  ['['.repeat(65) + ']'.repeat(65), 'at 64: nesting deeper than 64 levels'],
  ['{"a":'.repeat(65) + '1' + '}'.repeat(65), 'at 320: nesting deeper than 64 levels'],
];

t.test('invalid JSON is refused with the position and the reason', async (t) => {
  const j = await load();
  for (const [text, error] of INVALID) {
    if (!error.includes('nesting')) t.notOk(jsParse(text).ok, `JSON.parse refuses ${JSON.stringify(text)}`);
    t.same(j.parse8(text), { ok: false, error }, JSON.stringify(text.slice(0, 40)));
  }
  t.same(j.parse8('[1]'), { ok: true, dump: canon([1]) });
  t.equal(j.str(j.fn('error')()), '', 'a successful parse clears the error');
});

t.test('numbers round as JSON.parse rounds them', async (t) => {
  const j = await load();
  const random = prng(7);
  const int = (n: number) => Math.floor(random() * n);
  const digits = (n: number) => Array.from({ length: n }, () => int(10)).join('');
  const hard = [
    '2.2250738585072012e-308', '1.7976931348623158e308', '1.7976931348623159e308', '4.9e-324',
    '2.4703282292062327e-324', '2.4703282292062328e-324', '123456789012345678901234567890', '1e23',
    '8.98846567431158e307', '9007199254740993.0000000001', '179769313486231580793728971405301e276',
    '4.4501477170144023e-308', '2.225073858507201136057409796709131975934819546351645648e-308',
    '0.' + '0'.repeat(400) + '1e400', '1' + '0'.repeat(400) + 'e-400', '7.' + digits(900) + 'e-310',
  ];
  const mismatches: string[] = [];
  for (let k = 0; k < 20000; k++) {
    let text = hard[k];
    if (text === undefined) {
      text = (int(2) ? '-' : '') + (int(4) ? String(1 + int(9)) + digits(int(int(2) ? 20 : int(2) ? 400 : 1200)) : '0');
      if (int(2)) text += '.' + digits(1 + int(int(4) ? 30 : 1200));
      if (int(3)) text += (int(2) ? 'e' : 'E') + ['', '+', '-'][int(3)] + int(int(2) ? 30 : int(2) ? 400 : 1500);
    }
    const got = j.parse8(text);
    if (!got.ok || got.dump !== 'd' + bits(JSON.parse(text))) mismatches.push(text);
  }
  t.same(mismatches.slice(0, 5), [], '20000 numbers, bit for bit');
});

t.test('a large config: 200k routes', async (t) => {
  const j = await load();
  const N = 200_000;
  const route = (i: number) => ({ prefix: `${10 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.0/24`, port: i % 4 });
  const text = `{"routes":[${Array.from({ length: N }, (_, i) => JSON.stringify(route(i))).join(',')}]}`;
  const bytes = Buffer.from(text);
  const heapBefore = j.fn('heapMark')() >>> 0;
  const t0 = process.hrtime.bigint();
  const ok = j.fn('parseUtf8')(j.h.put(bytes, INPUT), bytes.length);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const heapAfter = j.fn('heapMark')() >>> 0;
  t.equal(ok, 1, 'parses');
  const t1 = process.hrtime.bigint();
  JSON.parse(text);
  const jsMs = Number(process.hrtime.bigint() - t1) / 1e6;
  t.comment(`${N} routes, ${(bytes.length / 1e6).toFixed(1)} MB of JSON: parsed (with UTF-8 decoding) in ${ms.toFixed(0)} ms ` +
    `(JSON.parse: ${jsMs.toFixed(0)} ms), heap ${((heapAfter - heapBefore) / 1e6).toFixed(0)} MB`);
  t.ok(ms < 5000, 'well under a few seconds');
  for (const i of [0, 1, 4095, 65536, 123_457, N - 1]) t.equal(j.query(`routes/${i}`), canon(route(i), false), `routes[${i}]`);
  t.equal(j.query(`routes/${N - 1}/port`), canon(route(N - 1).port));
  t.equal(j.query(`routes/${N}`), '', 'past the end: null');
  t.equal(j.query('routes/-1'), '', 'negative index: null');
});

t.test('big objects and long strings stay linear', async (t) => {
  const j = await load();
  const object = (n: number): string => '{' + Array.from({ length: n }, (_, i) => `"key${i}":${i}`).join(',') + ',"key7":"again"}';
  const string = (n: number): string => '"' + 'abcdefgh\\n\\u00e9'.repeat(n) + '"';
  // Twice the input, about twice the time (a quadratic parse takes four times): each size
  // three times, by turns, and the medians compared.
  const ratio = (text: (n: number) => string, n: number, check: (n: number) => void): number => {
    const ms: number[][] = [[], []];
    for (let round = 0; round < 3; round++) {
      [n, 2 * n].forEach((size, k) => {
        const input = text(size);
        const t0 = process.hrtime.bigint();
        j.parse8(input, false);
        ms[k]!.push(Number(process.hrtime.bigint() - t0) / 1e6);
        check(size);
      });
    }
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[1]!;
    t.comment(`${n} and ${2 * n}: ${median(ms[0]!).toFixed(1)} and ${median(ms[1]!).toFixed(1)} ms`);
    return median(ms[1]!) / median(ms[0]!);
  };
  const objects = ratio(object, 50_000, (n) => {
    if (j.query(`key${n - 1}`) !== canon(n - 1) || j.query('key7') !== canon('again')) t.fail(`an object of ${n} keys`);
  });
  t.ok(objects < 3, `an object twice as big: ${objects.toFixed(2)}x the time`);
  const strings = ratio(string, 100_000, () => {});
  t.ok(strings < 3, `a string twice as long: ${strings.toFixed(2)}x the time`);
  const long = string(200_000);
  t.equal(j.parse8(long).dump, canon(JSON.parse(long)), 'the long string, as JSON.parse reads it');
});

t.test('accessors never trap, whatever the kind', async (t) => {
  const j = await load();
  const cases: Array<[string, string]> = [
    ['null', "N F nan '' 0 x x x x 0"],
    ['true', "- T nan '' 0 x x x x 0"],
    ['2.5', "- F num '' 0 x x x x 0"],
    ['"s"', "- F nan 's' 0 x x x x 0"],
    ['[1,2]', "- F nan '' 2 x x x x 0"],
    ['{"a":1}', "- F nan '' 1 x x g k 1"],
    ['{}', "- F nan '' 0 x x x x 0"],
  ];
  for (const [text, summary] of cases) {
    j.parse8(text);
    t.equal(j.str(j.fn('accessors')()), summary, text);
  }
});

t.test('ConfigReader names the field in its errors', async (t) => {
  const j = await load();
  const read = (config: unknown) => j.call('readConfig', typeof config === 'string' ? config : JSON.stringify(config));
  const rules = (...r: unknown[]) => ({ default: 'drop', rules: r });
  t.equal(read({ default: 'pass', rules: [{ port: 80 }, { port: 443, action: 'fwd', log: true, weight: 0.5 }] }),
    'ok default=1 mtu=1500 rate=-1.0 rules=80/drop/-/1.0,443/fwd/log/0.5');
  t.equal(read({ default: 'drop', mtu: null, rules: [], limits: { rate: 1e9 } }), 'ok default=0 mtu=1500 rate=1000000000.0 rules=');
  t.equal(read({ default: 'drop', mtu: 9000, rules: [], limits: {} }), 'ok default=0 mtu=9000 rate=-1.0 rules=');
  const cases: Array<[unknown, string]> = [
    ['nope', 'invalid JSON at 0: invalid literal (expected true, false or null)'],
    ['{"default":"drop",', 'invalid JSON at 18: unexpected end of input'],
    [[], '(root): must be an object'],
    ['null', '(root): required'],
    [{ rules: [] }, 'default: required'],
    [{ default: null, rules: [] }, 'default: required'],
    [{ rulez: [], default: 'drop' }, 'rulez: unknown key (allowed: rules, default, mtu, limits)'],
    [{ default: 'maybe', rules: [] }, 'default: must be one of: drop, pass'],
    [{ default: 1, rules: [] }, 'default: must be one of: drop, pass'],
    [{ default: 'drop' }, 'rules: required'],
    [{ default: 'drop', rules: null }, 'rules: required'],
    [{ default: 'drop', rules: {} }, 'rules: must be an array'],
    [{ default: 'drop', mtu: 10, rules: [] }, 'mtu: must be an integer from 68 to 9216'],
    [{ default: 'drop', mtu: '1500', rules: [] }, 'mtu: must be an integer from 68 to 9216'],
    [{ default: 'drop', rules: [], limits: 5 }, 'limits: must be an object'],
    [{ default: 'drop', rules: [], limits: { rate: -1 } }, 'limits.rate: must be a number >= 0'],
    [{ default: 'drop', rules: [], limits: { burst: 1 } }, 'limits.burst: unknown key (allowed: rate)'],
    [rules({ port: 1 }, { port: 2 }, 5), 'rules[2]: must be an object'],
    [rules({ port: 1 }, { port: 2 }, null), 'rules[2]: required'],
    [rules({ port: 1 }, { port: 2 }, { port: 70000 }), 'rules[2].port: must be an integer from 0 to 65535'],
    [rules({ port: 1.5 }), 'rules[0].port: must be an integer from 0 to 65535'],
    [rules({ port: '80' }), 'rules[0].port: must be an integer from 0 to 65535'],
    [rules({ port: -1 }), 'rules[0].port: must be an integer from 0 to 65535'],
    ['{"default":"drop","rules":[{"port":1e400}]}', 'rules[0].port: must be an integer from 0 to 65535'],
    [rules({ port: 1 }, {}), 'rules[1].port: required'],
    [rules({ port: 1, action: 5 }), 'rules[0].action: must be a string'],
    [rules({ port: 1, log: 'yes' }), 'rules[0].log: must be true or false'],
    [rules({ port: 1, weight: 2 }), 'rules[0].weight: must be a number from 0 to 1'],
    [rules({ prot: 1 }), 'rules[0].prot: unknown key (allowed: port, action, log, weight)'],
    [{ rulez: 1, default: 7 }, 'rulez: unknown key (allowed: rules, default, mtu, limits)'],
    [rules({ port: -1, weight: 2 }), 'rules[0].port: must be an integer from 0 to 65535'],
  ];
  for (const [config, error] of cases) t.equal(read(config), error, typeof config === 'string' ? config : JSON.stringify(config));

  const misc = (config: unknown) => j.call('readMisc', JSON.stringify(config));
  t.equal(misc({}), 'on: required');
  t.equal(misc({ on: 1 }), 'on: must be true or false');
  t.equal(misc({ on: true }), 'mode: required');
  t.equal(misc({ on: true, mode: 'c' }), 'mode: must be one of: a, b');
  t.equal(misc({ on: true, mode: 'b' }), 'nested.name: required', 'a required field of an absent optional section');
  t.equal(misc({ on: true, mode: 'b', nested: [] }), 'nested: must be an object');
  t.equal(misc({ on: false, mode: 'b', nested: { name: 'x' } }), 'ok off 1 x');
});

t.test('the usage example of json.ts works as written', async (t) => {
  const j = await load();
  const example = (config: unknown) => {
    const bytes = Buffer.from(JSON.stringify(config));
    return j.fn('example')(j.h.put(bytes, INPUT), bytes.length);
  };
  t.equal(example({ rules: [{ port: 80 }, { port: 443, action: 'fwd' }], default: 'pass' }), 0);
  t.equal(j.str(j.fn('exampleRules')()), '80:drop,443:fwd,pass');
  t.equal(example({ rules: [{ port: 80 }, { action: 'fwd' }] }), 1);
  t.equal(j.h.logs.at(-1), '3 config: rules[1].port: required', 'logged as an error');
});

// ---------------------------------------------------------------------------
// Fuzz: random text, random valid JSON, and mutations of it.

function generator(random: () => number) {
  const int = (n: number) => Math.floor(random() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  const space = () => (int(4) ? '' : pick([' ', '\n', '\t', '\r', '  ', ' \n ']));
  const CHARS = ['a', 'b', 'Z', ' ', '\\"', '\\\\', '\\/', '/', '\\n', '\\t', '\\b', '\\f', '\\r', '\\u0000', '\\u001f',
    '\\u00e9', '\\uD83D\\uDE00', '\\ud800', '\\udfff', 'é', '中', '😀', '\u007f', '\u2028', '0', '{', '[', ':', ','];
  const KEYS = ['a', 'b', 'port', 'prefix', '', '__proto__', '0', '1', 'constructor', 'a\\u0000', 'é'];
  const number = () => {
    let s = (int(3) ? '' : '-') + (int(3) ? String(int(10)) : String(1 + int(9)) + String(int(1e9)));
    if (!int(3)) s += '.' + String(int(1e6));
    if (!int(4)) s += pick(['e', 'E']) + pick(['', '+', '-']) + String(int(400));
    return s;
  };
  const string = (max: number) => '"' + Array.from({ length: int(max) }, () => pick(CHARS)).join('') + '"';
  const value = (depth: number): string => {
    const k = int(depth > 4 ? 6 : 8);
    if (k === 0) return pick(['true', 'false', 'null']);
    if (k <= 2) return number();
    if (k <= 5) return string(8);
    if (k === 6) return '[' + space() + Array.from({ length: int(5) }, () => value(depth + 1)).join(space() + ',' + space()) + space() + ']';
    return '{' + space() + Array.from({ length: int(5) }, () =>
      (int(4) ? '"' + pick(KEYS) + '"' : string(4)) + space() + ':' + space() + value(depth + 1)).join(space() + ',' + space()) + space() + '}';
  };
  const TOKENS = ['{', '}', '[', ']', ',', ':', '"', '\\', '0', '1', '-', '.', 'e', 'E', '+', ' ', 't', 'n', 'f', 'u',
    '\u0000', '\u001f', 'é', '\ud800', 'true', 'null', '1e5', '"a"', '\\u', '00', '[]', '{}'];
  const mutate = (text: string): string => {
    for (let n = 1 + int(3); n > 0; n--) {
      const at = int(text.length + 1);
      switch (int(5)) {
        case 0: text = text.slice(0, at) + text.slice(at + 1 + int(3)); break;
        case 1: text = text.slice(0, at) + pick(TOKENS) + text.slice(at); break;
        case 2: text = text.slice(0, at) + pick(TOKENS) + text.slice(at + 1); break;
        case 3: { const from = int(text.length + 1); text = text.slice(0, at) + text.slice(from, from + int(8)) + text.slice(at); break; }
        default: text = text.slice(0, at);
      }
    }
    return text;
  };
  const ALPHABET = Buffer.from('{}[],:"\\ \t\n0123456789-+.eEtruefalsnul');
  const bytes = (): Uint8Array =>
    Uint8Array.from({ length: int(40) }, () => (int(4) ? ALPHABET[int(ALPHABET.length)] : int(256)));
  return { value, mutate, bytes, int };
}

t.test('fuzz: never a trap; parseJson takes exactly what JSON.parse takes, with the same result', async (t) => {
  // JSON_FUZZ_SEED and JSON_FUZZ_ROUNDS (a multiplier) run other or longer fuzzing.
  const j = await load();
  const seed = Number(process.env.JSON_FUZZ_SEED ?? 2024);
  const rounds = Number(process.env.JSON_FUZZ_ROUNDS ?? 1);
  const gen = generator(prng(seed));
  const problems: string[] = [];
  let accepted = 0;
  let total = 0;
  const check = (text: string, got: () => Result) => {
    total++;
    let result: Result;
    try {
      result = got();
    } catch (e) {
      problems.push(`trap (${(e as Error).message}) on ${JSON.stringify(text)}`);
      return;
    }
    const want = jsParse(text);
    if (want.ok) accepted++;
    // JSON.parse has no nesting limit (mutations of the nesting-limit cases hit ours).
    if (want.ok && !result.ok && result.error?.endsWith('nesting deeper than 64 levels')) return;
    if (result.ok !== want.ok || (want.ok && result.dump !== want.dump)) {
      problems.push(`${JSON.stringify(text)}: JSON.parse ${want.ok ? 'takes' : 'refuses'}, parseJson ${JSON.stringify(result)}`);
    } else if (!result.ok) {
      const m = /^at (\d+): ./.exec(result.error ?? '');
      if (!m || Number(m[1]) > text.length) problems.push(`${JSON.stringify(text)}: bad error ${JSON.stringify(result.error)}`);
    }
  };
  for (let i = 0; i < 3000 * rounds; i++) {
    const bytes = gen.bytes();
    check(asDecodeUtf8(bytes), () => j.parse8(bytes));
  }
  for (let i = 0; i < 2000 * rounds; i++) {
    const text = gen.value(0);
    check(text, () => j.parse16(text));
    for (let m = 0; m < 3; m++) {
      const mutated = gen.mutate(text);
      if (gen.int(2)) {
        check(mutated, () => j.parse16(mutated));
      } else {
        const bytes = Buffer.from(mutated); // lone surrogates become U+FFFD
        check(asDecodeUtf8(bytes), () => j.parse8(bytes));
      }
    }
  }
  for (const text of [...VALID, ...INVALID.map(([s]) => s)]) {
    for (let m = 0; m < 20 * rounds; m++) {
      const mutated = gen.mutate(text);
      check(mutated, () => j.parse16(mutated));
    }
  }
  t.comment(`seed ${seed}: ${total} inputs, ${accepted} valid JSON`);
  t.same(problems.slice(0, 10), [], `no trap and no disagreement (${problems.length} problems)`);
});
