// JSON for NF configs: a parser (parseJson) into read-only JsonValue trees, and
// ConfigReader, a checked reader of config fields whose errors name the field.
// Meant for netvm_configure (it allocates, and the stub runtime never frees);
// never for the per-packet path. No input makes it trap (but running out of
// memory does); time is linear in the text's length.
//
// parseJson(text: string): JsonValue | null    null when invalid; then jsonError()
// jsonError(): string                          'at 17: expected \':\' after object key';
//   the position is an index in text's UTF-16 code units (the byte offset when
//   the text is ASCII); '' after a parse that succeeded.
// JsonValue: kind: JsonKind (Null Bool Number String Array Object),
//   isNull() isBool() isNumber() isString() isArray() isObject(),
//   asBool(): bool (false unless true), asNumber(): f64 (NaN unless a number),
//   asString(): string ('' unless a string), length: i32 (array items, object
//   members, else 0), at(i): JsonValue | null (array item, or the value of the
//   object's i-th member), keyAt(i): string | null, get(key): JsonValue | null
//   (a duplicate key: the last value wins, at the first one's place), has(key),
//   indexOf(key): i32 (-1: absent), keys(): string[] (a fresh copy, in the
//   text's order). Objects of more than 32 members get a hash index.
// Parse errors: unexpected end of input, unexpected character 'x' (or U+XXXX),
// trailing characters, trailing comma, expected ':' after object key, expected
// ',' or ']' after array item, expected ',' or '}' after object member, expected
// a string as object key, unterminated string, invalid escape \x, invalid \u
// escape (needs 4 hex digits), control character in string (write it as an
// escape), leading zero in number, expected a digit after '-' / after '.' / in
// exponent, invalid literal (expected true, false or null), nesting deeper than
// 64 levels.
// The JSON grammar is RFC 8259's, as JSON.parse takes it (lone surrogates from
// \u escapes included; numbers beyond f64 become +-Infinity or 0, rounded as
// JSON.parse rounds them), plus a nesting limit of 64 arrays/objects.
//
// ConfigReader(root: JsonValue | null): records the first error only; every
// method returns something usable even after an error, so read everything,
// then check ok() once. `path` is where obj sits ('' for the root, 'rules[2]');
// the error names path.key ('(root)' for path ''). A key whose value is null
// counts as absent, and so does every key of an obj that is null (an absent
// optional section). A wrong value is an error even when there is a fallback.
//   root: JsonValue | null       as constructed (null: error() says why)
//   ok(): bool, error(): string  'rules[2].port: must be an integer from 0 to 65535'
//   fail(path, message)          record an error of your own (if the first)
//   object(v, path): bool        v must be an object ('required' when null)
//   string(obj, key, path, fallback: string | null = null): string   null: required
//   number(obj, key, path, min: f64, max: f64, fallback: f64 = NaN): f64  NaN: required;
//     finite, within [min, max] (either bound may be +-Infinity)
//   integer(obj, key, path, min, max, fallback = NaN): f64      the same, whole
//   bool(obj, key, path, fallback: i32 = -1): bool   -1: required, 0 false, 1 true
//   choice(obj, key, path, choices: string[], fallback: i32 = -1): i32
//     index of the string value in choices; fallback -1: required
//   array(obj, key, path, required = true): JsonValue | null   null when absent/wrong
//   child(obj, key, path, required = true): JsonValue | null   a nested object
//   field(obj, key): JsonValue | null     raw member (no checks, null if absent)
//   unknownKeys(obj, path, allowed: string[]): bool   'rulez: unknown key (allowed: rules, default)'
// keyPath(path, key) and itemPath(path, i) build the paths: 'rules', 'rules[2]';
// jsonQuote(s) writes s as a JSON string (an NF's answer to a message, say).
//
// Usage (an NF's netvm_configure; log and LogLevel come from '../sdk'):
//   const r = new ConfigReader(parseJson(configText(ptr, len)));
//   r.unknownKeys(r.root, '', ['rules', 'default']);
//   const passByDefault = r.choice(r.root, 'default', '', ['drop', 'pass'], 0) == 1;
//   const rules = r.array(r.root, 'rules', '');
//   const n = rules !== null ? rules.length : 0;
//   for (let i = 0; i < n && r.ok(); i++) {
//     const rule = rules!.at(i), p = itemPath('rules', i);
//     if (r.object(rule, p)) addRule(<u16>r.integer(rule, 'port', p, 0, 65535), r.string(rule, 'action', p, 'drop'));
//   }
//   if (!r.ok()) { log(LogLevel.ERROR, 'config: ' + r.error()); return 1; }

export enum JsonKind { Null, Bool, Number, String, Array, Object }

/** Arrays and objects nest at most this deep. */
export const JSON_MAX_DEPTH: i32 = 64;
/** Objects with more members than this get a hash index (for get and for
 *  duplicate keys while parsing); smaller ones are scanned. */
const INDEX_ABOVE: i32 = 32;

/** A parsed JSON value; read-only (values may be shared between trees). */
@final export class JsonValue {
  // Internal (set by the parser): the number (or 1/0 for a bool), the string,
  // array items or object values, object keys, the key index of big objects.
  readonly _num: f64;
  readonly kind: JsonKind;
  readonly _str: string | null;
  readonly _items: StaticArray<JsonValue> | null;
  readonly _names: StaticArray<string> | null;
  readonly _index: Map<string, i32> | null;

  /** Internal: use parseJson. */
  constructor(kind: JsonKind, num: f64, str: string | null, items: StaticArray<JsonValue> | null,
              names: StaticArray<string> | null, index: Map<string, i32> | null) {
    this._num = num;
    this.kind = kind;
    this._str = str;
    this._items = items;
    this._names = names;
    this._index = index;
  }

  isNull(): bool { return this.kind == JsonKind.Null; }
  isBool(): bool { return this.kind == JsonKind.Bool; }
  isNumber(): bool { return this.kind == JsonKind.Number; }
  isString(): bool { return this.kind == JsonKind.String; }
  isArray(): bool { return this.kind == JsonKind.Array; }
  isObject(): bool { return this.kind == JsonKind.Object; }

  /** true for JSON true; false for anything else. */
  asBool(): bool { return this.kind == JsonKind.Bool && this._num != 0; }

  /** The number; NaN when not a number. */
  asNumber(): f64 { return this.kind == JsonKind.Number ? this._num : NaN; }

  /** The string; '' when not a string. */
  asString(): string {
    const s = this._str;
    return s !== null ? s : "";
  }

  /** Items of an array, members of an object, 0 otherwise. */
  get length(): i32 {
    const items = this._items;
    return items !== null ? items.length : 0;
  }

  /** Item i of an array, or the value of member i of an object; null when out of range. */
  at(i: i32): JsonValue | null {
    const items = this._items;
    if (items === null || <u32>i >= <u32>items.length) return null;
    return unchecked(items[i]);
  }

  /** The key of member i of an object; null when out of range or not an object. */
  keyAt(i: i32): string | null {
    const names = this._names;
    if (names === null || <u32>i >= <u32>names.length) return null;
    return unchecked(names[i]);
  }

  /** Index of key among the members, -1 when absent (or not an object). */
  indexOf(key: string): i32 {
    const names = this._names;
    if (names === null) return -1;
    const index = this._index;
    if (index !== null) return index.has(key) ? index.get(key) : -1;
    for (let i = 0, n = names.length; i < n; i++) {
      if (unchecked(names[i]) == key) return i;
    }
    return -1;
  }

  has(key: string): bool { return this.indexOf(key) >= 0; }

  /** The value of member key of an object; null when absent or not an object. */
  get(key: string): JsonValue | null {
    const i = this.indexOf(key);
    return i >= 0 ? this.at(i) : null;
  }

  /** The keys of an object in the text's order (a copy); [] otherwise. */
  keys(): string[] {
    const names = this._names;
    const n = names !== null ? names.length : 0;
    const out = new Array<string>(n);
    for (let i = 0; i < n; i++) unchecked(out[i] = names![i]);
    return out;
  }
}

// ---------------------------------------------------------------------------
// Parser state. One parse at a time (nothing here calls back into user code).

let text: string = "";
let base: usize = 0; // address of text's first code unit
let end: i32 = 0; // text.length
let pos: i32 = 0;
let failed: bool = false;
let lastError: string = "";

// Children of the arrays/objects being parsed, innermost last; a container
// copies its own into an exact-size StaticArray when it closes.
const valueStack = new Array<JsonValue>();
const keyStack = new Array<string>();

const JSON_NULL = new JsonValue(JsonKind.Null, 0, null, null, null, null);
const JSON_TRUE = new JsonValue(JsonKind.Bool, 1, null, null, null, null);
const JSON_FALSE = new JsonValue(JsonKind.Bool, 0, null, null, null, null);

// Small non-negative integers written plainly share their values.
const SMALL_INTS: i32 = 1024;
const smallInts = new StaticArray<JsonValue | null>(SMALL_INTS);

// Short strings without escapes (keys above all) are interned: the same text
// gives the same value (and string), so a million {"prefix":..,"port":..}
// share their keys.
const INTERN_MAX_LEN: i32 = 32;
const INTERN_SLOTS: i32 = 4096;
const interned = new StaticArray<JsonValue | null>(INTERN_SLOTS);

// Objects with the same keys in the same order share one keys array: the last
// one made for each member count up to SHAPE_MAX.
const SHAPE_MAX: i32 = 16;
const shapes = new StaticArray<StaticArray<string> | null>(SHAPE_MAX + 1);

// Code units of a string with escapes, while it is decoded.
let scratch: usize = 0;
let scratchUnits: i32 = 0;

/** Parses JSON text. Returns null when it is not valid JSON; jsonError() says why. */
export function parseJson(json: string): JsonValue | null {
  text = json;
  base = changetype<usize>(json);
  end = json.length;
  pos = 0;
  failed = false;
  lastError = "";
  valueStack.length = 0;
  keyStack.length = 0;
  let v = parseValue(0);
  if (v !== null) {
    skipSpace();
    if (pos < end) v = fail(pos, "trailing characters");
  }
  valueStack.length = 0;
  keyStack.length = 0;
  text = "";
  return v;
}

/** Why the last parseJson returned null ('' when it succeeded). */
export function jsonError(): string {
  return lastError;
}

function fail(at: i32, message: string): JsonValue | null {
  if (!failed) {
    failed = true;
    lastError = "at " + at.toString() + ": " + message;
  }
  return null;
}

// @ts-ignore: decorator
@inline function unit(i: i32): i32 {
  return <i32>load<u16>(base + (<usize>i << 1));
}

function skipSpace(): void {
  let p = pos;
  while (p < end) {
    const c = unit(p);
    if (c != 0x20 && c != 0x0a && c != 0x0d && c != 0x09) break;
    p++;
  }
  pos = p;
}

function describe(c: i32): string {
  if (c > 0x20 && c < 0x7f) return "'" + String.fromCharCode(c) + "'";
  let hex = (<u32>c).toString(16).toUpperCase();
  while (hex.length < 4) hex = "0" + hex;
  return "U+" + hex;
}

function parseValue(depth: i32): JsonValue | null {
  skipSpace();
  if (pos >= end) return fail(end, "unexpected end of input");
  const c = unit(pos);
  if (c == 0x22) return parseString();
  if (c == 0x7b) return parseObject(depth);
  if (c == 0x5b) return parseArray(depth);
  if (c == 0x2d || (c >= 0x30 && c <= 0x39)) return parseNumber();
  if (c == 0x74) return literal("true", JSON_TRUE);
  if (c == 0x66) return literal("false", JSON_FALSE);
  if (c == 0x6e) return literal("null", JSON_NULL);
  return fail(pos, "unexpected character " + describe(c));
}

function literal(word: string, value: JsonValue): JsonValue | null {
  const n = word.length;
  if (end - pos < n || memory.compare(base + (<usize>pos << 1), changetype<usize>(word), <usize>n << 1) != 0) {
    return fail(pos, "invalid literal (expected true, false or null)");
  }
  pos += n;
  return value;
}

// What follows an array item or object member: another one (after a comma),
// the end (the closing bracket, consumed), or an error (recorded by fail).
const SEP_MORE: i32 = 0;
const SEP_DONE: i32 = 1;
const SEP_BAD: i32 = 2;

function separator(close: i32, expected: string): i32 {
  skipSpace();
  if (pos >= end) {
    fail(end, "unexpected end of input");
    return SEP_BAD;
  }
  const c = unit(pos);
  if (c == 0x2c) {
    const comma = pos;
    pos++;
    skipSpace();
    if (pos < end && unit(pos) == close) {
      fail(comma, "trailing comma");
      return SEP_BAD;
    }
    return SEP_MORE;
  }
  if (c == close) {
    pos++;
    return SEP_DONE;
  }
  fail(pos, expected);
  return SEP_BAD;
}

/** The values pushed since `start`, taken off the stack. */
function popValues(start: i32): StaticArray<JsonValue> {
  const n = valueStack.length - start;
  const out = new StaticArray<JsonValue>(n);
  for (let i = 0; i < n; i++) unchecked(out[i] = valueStack[start + i]);
  valueStack.length = start;
  return out;
}

function parseArray(depth: i32): JsonValue | null {
  if (depth >= JSON_MAX_DEPTH) return fail(pos, "nesting deeper than 64 levels");
  pos++; // '['
  const start = valueStack.length;
  skipSpace();
  if (pos < end && unit(pos) == 0x5d) {
    pos++;
    return new JsonValue(JsonKind.Array, 0, null, new StaticArray<JsonValue>(0), null, null);
  }
  while (true) {
    const v = parseValue(depth + 1);
    if (v === null) return null;
    valueStack.push(v);
    const sep = separator(0x5d, "expected ',' or ']' after array item");
    if (sep == SEP_BAD) return null;
    if (sep == SEP_DONE) break;
  }
  return new JsonValue(JsonKind.Array, 0, null, popValues(start), null, null);
}

function parseObject(depth: i32): JsonValue | null {
  if (depth >= JSON_MAX_DEPTH) return fail(pos, "nesting deeper than 64 levels");
  pos++; // '{'
  const start = valueStack.length;
  const keyStart = keyStack.length;
  let index: Map<string, i32> | null = null;
  skipSpace();
  if (pos < end && unit(pos) == 0x7d) {
    pos++;
    return new JsonValue(JsonKind.Object, 0, null, new StaticArray<JsonValue>(0), new StaticArray<string>(0), null);
  }
  while (true) {
    skipSpace();
    if (pos >= end) return fail(end, "unexpected end of input");
    if (unit(pos) != 0x22) return fail(pos, "expected a string as object key");
    const keyValue = parseString();
    if (keyValue === null) return null;
    const key = keyValue.asString();
    skipSpace();
    if (pos >= end) return fail(end, "unexpected end of input");
    if (unit(pos) != 0x3a) return fail(pos, "expected ':' after object key");
    pos++;
    const v = parseValue(depth + 1);
    if (v === null) return null;
    // A duplicate key: the last value wins, at the first one's place (as in JSON.parse).
    let dup = -1;
    const count = keyStack.length - keyStart;
    if (index !== null) {
      if (index.has(key)) dup = index.get(key);
    } else {
      for (let i = 0; i < count; i++) {
        if (unchecked(keyStack[keyStart + i]) == key) {
          dup = i;
          break;
        }
      }
    }
    if (dup >= 0) {
      valueStack[start + dup] = v;
    } else {
      keyStack.push(key);
      valueStack.push(v);
      if (index !== null) {
        index.set(key, count);
      } else if (count + 1 > INDEX_ABOVE) {
        const made = new Map<string, i32>();
        for (let i = 0; i <= count; i++) made.set(keyStack[keyStart + i], i);
        index = made;
      }
    }
    const sep = separator(0x7d, "expected ',' or '}' after object member");
    if (sep == SEP_BAD) return null;
    if (sep == SEP_DONE) break;
  }
  const values = popValues(start);
  const names = shapeOf(keyStart, values.length);
  keyStack.length = keyStart;
  return new JsonValue(JsonKind.Object, 0, null, values, names, index);
}

/** The keys keyStack[from, from + n) as an array, shared with the last object of the same keys. */
function shapeOf(from: i32, n: i32): StaticArray<string> {
  if (n <= SHAPE_MAX) {
    const last = unchecked(shapes[n]);
    if (last !== null) {
      let same = true;
      for (let i = 0; i < n; i++) {
        if (unchecked(last[i]) != keyStack[from + i]) {
          same = false;
          break;
        }
      }
      if (same) return last;
    }
  }
  const names = new StaticArray<string>(n);
  for (let i = 0; i < n; i++) unchecked(names[i] = keyStack[from + i]);
  if (n <= SHAPE_MAX) unchecked(shapes[n] = names);
  return names;
}

// ---------------------------------------------------------------------------
// Strings

function parseString(): JsonValue | null {
  const quote = pos;
  let p = quote + 1;
  while (p < end) {
    const c = unit(p);
    if (c == 0x22) break;
    if (c == 0x5c) {
      pos = p;
      return parseEscapedString(quote);
    }
    if (c < 0x20) return fail(p, "control character in string (write it as an escape)");
    p++;
  }
  if (p >= end) return fail(quote, "unterminated string");
  pos = p + 1;
  const from = quote + 1;
  const n = p - from;
  if (n > INTERN_MAX_LEN) return new JsonValue(JsonKind.String, 0, text.substring(from, p), null, null, null);
  // Interned: look the text up by a hash of its code units.
  const at = base + (<usize>from << 1);
  let h: u32 = <u32>n * 0x9e3779b1;
  for (let i = 0; i < n; i++) h = (h ^ <u32>load<u16>(at + (<usize>i << 1))) * 0x01000193;
  const slot = <i32>((h ^ (h >> 15)) & <u32>(INTERN_SLOTS - 1));
  const cached = unchecked(interned[slot]);
  if (cached !== null) {
    const s = cached._str!;
    if (s.length == n && memory.compare(changetype<usize>(s), at, <usize>n << 1) == 0) return cached;
  }
  const made = new JsonValue(JsonKind.String, 0, text.substring(from, p), null, null, null);
  unchecked(interned[slot] = made);
  return made;
}

function reserveScratch(units: i32): void {
  if (units <= scratchUnits) return;
  let want = max(units, max(scratchUnits << 1, 64));
  scratch = scratch == 0 ? heap.alloc(<usize>want << 1) : heap.realloc(scratch, <usize>want << 1);
  scratchUnits = want;
}

function hexDigit(c: i32): i32 {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

/** The rest of a string from its first backslash at pos; quote is where it starts. */
function parseEscapedString(quote: i32): JsonValue | null {
  let n = pos - (quote + 1);
  reserveScratch(n + 16);
  memory.copy(scratch, base + (<usize>(quote + 1) << 1), <usize>n << 1);
  let p = pos;
  while (true) {
    if (p >= end) return fail(quote, "unterminated string");
    let c = unit(p);
    if (c == 0x22) {
      p++;
      break;
    }
    if (c == 0x5c) {
      if (p + 1 >= end) return fail(quote, "unterminated string");
      const e = unit(p + 1);
      if (e == 0x22 || e == 0x5c || e == 0x2f) c = e;
      else if (e == 0x62) c = 0x08;
      else if (e == 0x66) c = 0x0c;
      else if (e == 0x6e) c = 0x0a;
      else if (e == 0x72) c = 0x0d;
      else if (e == 0x74) c = 0x09;
      else if (e == 0x75) {
        c = 0;
        for (let i = 0; i < 4; i++) {
          if (p + 2 + i >= end) return fail(quote, "unterminated string");
          const d = hexDigit(unit(p + 2 + i));
          if (d < 0) return fail(p, "invalid \\u escape (needs 4 hex digits)");
          c = (c << 4) | d;
        }
        p += 4;
      } else {
        return fail(p, "invalid escape \\" + (e > 0x20 && e < 0x7f ? String.fromCharCode(e) : describe(e)));
      }
      p += 2;
    } else if (c < 0x20) {
      return fail(p, "control character in string (write it as an escape)");
    } else {
      p++;
    }
    if (n >= scratchUnits) reserveScratch(n + 1);
    store<u16>(scratch + (<usize>n << 1), <u16>c);
    n++;
  }
  pos = p;
  return new JsonValue(JsonKind.String, 0, String.UTF16.decodeUnsafe(scratch, <usize>n << 1), null, null, null);
}

// ---------------------------------------------------------------------------
// Numbers: the exact powers of ten up to 1e22 for the fast path (Clinger);
// anything else goes through a decimal big number, like Go's strconv.

const POW10: StaticArray<f64> = [
  1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
  1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];
const U64_POW10: StaticArray<u64> = [
  1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000,
  10000000000, 100000000000, 1000000000000, 10000000000000, 100000000000000, 1000000000000000,
];
const MAX_EXACT: u64 = 9007199254740992; // 2^53

function parseNumber(): JsonValue | null {
  const start = pos;
  let p = pos;
  let negative = false;
  if (unit(p) == 0x2d) {
    negative = true;
    p++;
  }
  let mantissa: u64 = 0; // the first 19 significant digits
  let digits = 0; // significant digits in mantissa
  let exact = true; // no digit dropped
  let scale: i32 = 0; // value = mantissa * 10^(scale + exponent)
  let plain = !negative;
  if (p >= end) return fail(p, "expected a digit after '-'");
  let c = unit(p);
  if (c == 0x30) {
    p++;
    if (p < end && <u32>(unit(p) - 0x30) < 10) return fail(start, "leading zero in number");
  } else if (c >= 0x31 && c <= 0x39) {
    while (p < end) {
      const d = unit(p) - 0x30;
      if (<u32>d >= 10) break;
      if (digits < 19) {
        mantissa = mantissa * 10 + <u64>d;
        digits++;
      } else {
        if (d != 0) exact = false;
        scale++;
      }
      p++;
    }
  } else {
    return fail(p, "expected a digit after '-'");
  }
  if (p < end && unit(p) == 0x2e) {
    plain = false;
    p++;
    if (p >= end || <u32>(unit(p) - 0x30) >= 10) return fail(p, "expected a digit after '.'");
    while (p < end) {
      const d = unit(p) - 0x30;
      if (<u32>d >= 10) break;
      if (digits < 19) {
        if (digits > 0 || d != 0) {
          mantissa = mantissa * 10 + <u64>d;
          digits++;
        }
        scale--;
      } else if (d != 0) {
        exact = false;
      }
      p++;
    }
  }
  let exponent: i32 = 0;
  if (p < end && (unit(p) | 0x20) == 0x65) {
    plain = false;
    p++;
    let expNegative = false;
    if (p < end) {
      c = unit(p);
      if (c == 0x2b || c == 0x2d) {
        expNegative = c == 0x2d;
        p++;
      }
    }
    if (p >= end || <u32>(unit(p) - 0x30) >= 10) return fail(p, "expected a digit in exponent");
    while (p < end) {
      const d = unit(p) - 0x30;
      if (<u32>d >= 10) break;
      if (exponent < 100_000_000) exponent = exponent * 10 + d; // beyond: +-Infinity or 0 anyway
      p++;
    }
    if (expNegative) exponent = -exponent;
  }
  pos = p;
  if (plain && mantissa < <u64>SMALL_INTS) {
    const i = <i32>mantissa;
    let v = unchecked(smallInts[i]);
    if (v === null) {
      v = new JsonValue(JsonKind.Number, <f64>i, null, null, null, null);
      unchecked(smallInts[i] = v);
    }
    return v;
  }
  let x: f64 = 0;
  const e = scale + exponent;
  let fast = true;
  if (mantissa == 0) x = 0;
  else if (!exact) fast = false;
  else if (e == 0) x = <f64>mantissa;
  else if (mantissa > MAX_EXACT) fast = false;
  else if (e > 0 && e <= 22) x = <f64>mantissa * unchecked(POW10[e]);
  else if (e < 0 && e >= -22) x = <f64>mantissa / unchecked(POW10[-e]);
  else if (e > 22 && e <= 22 + 15 && mantissa <= MAX_EXACT / unchecked(U64_POW10[e - 22])) {
    x = <f64>(mantissa * unchecked(U64_POW10[e - 22])) * 1e22;
  } else fast = false;
  if (!fast) x = decimalToF64(start, p);
  else if (negative) x = -x;
  return new JsonValue(JsonKind.Number, x, null, null, null, null);
}

// The slow path: a decimal number of up to DEC_MAX digits (and a flag for
// nonzero digits beyond), scaled by powers of two into [1/2, 1), then 53 bits
// taken off it, rounded to nearest even. Exact for f64 since no decimal
// halfway point between two doubles needs more than 767 digits.
const DEC_MAX: i32 = 800;
const decDigits: usize = memory.data(DEC_MAX + 32); // values 0-9, most significant first
const decTemp: usize = memory.data(DEC_MAX + 32);
let decCount: i32 = 0; // digits in use
let decPoint: i32 = 0; // value = 0.d1d2d3... * 10^decPoint
let decTruncated: bool = false;
const MAX_SHIFT: i32 = 60; // 9 << 60 still fits u64

// @ts-ignore: decorator
@inline function decDigit(i: i32): u64 {
  return <u64>load<u8>(decDigits + <usize>i);
}

function decTrim(): void {
  while (decCount > 0 && load<u8>(decDigits + <usize>(decCount - 1)) == 0) decCount--;
  if (decCount == 0) decPoint = 0;
}

function decShiftRight(k: i32): void {
  let r = 0;
  let w = 0;
  let n: u64 = 0;
  while ((n >> <u64>k) == 0) {
    if (r >= decCount) {
      if (n == 0) {
        decCount = 0;
        decPoint = 0;
        return;
      }
      while ((n >> <u64>k) == 0) {
        n *= 10;
        r++;
      }
      break;
    }
    n = n * 10 + decDigit(r);
    r++;
  }
  decPoint -= r - 1;
  const mask: u64 = (<u64>1 << <u64>k) - 1;
  for (; r < decCount; r++) {
    const c = decDigit(r);
    const dig = n >> <u64>k;
    n &= mask;
    store<u8>(decDigits + <usize>w, <u8>dig);
    w++;
    n = n * 10 + c;
  }
  while (n > 0) {
    const dig = n >> <u64>k;
    n &= mask;
    if (w < DEC_MAX) {
      store<u8>(decDigits + <usize>w, <u8>dig);
      w++;
    } else if (dig > 0) {
      decTruncated = true;
    }
    n *= 10;
  }
  decCount = w;
  decTrim();
}

function decShiftLeft(k: i32): void {
  // Digits of value * 2^k, written right to left into decTemp[.., top).
  const top = decCount + 20;
  let w = top;
  let n: u64 = 0;
  for (let r = decCount - 1; r >= 0; r--) {
    n += decDigit(r) << <u64>k;
    const q = n / 10;
    w--;
    store<u8>(decTemp + <usize>w, <u8>(n - q * 10));
    n = q;
  }
  while (n > 0) {
    const q = n / 10;
    w--;
    store<u8>(decTemp + <usize>w, <u8>(n - q * 10));
    n = q;
  }
  const count = top - w;
  let keep = count;
  if (keep > DEC_MAX) {
    keep = DEC_MAX;
    for (let i = w + DEC_MAX; i < top; i++) {
      if (load<u8>(decTemp + <usize>i) != 0) decTruncated = true;
    }
  }
  memory.copy(decDigits, decTemp + <usize>w, <usize>keep);
  decPoint += count - decCount;
  decCount = keep;
  decTrim();
}

function decShift(k: i32): void {
  if (decCount == 0) return;
  while (k > MAX_SHIFT) {
    decShiftLeft(MAX_SHIFT);
    k -= MAX_SHIFT;
  }
  while (k < -MAX_SHIFT) {
    decShiftRight(MAX_SHIFT);
    k += MAX_SHIFT;
  }
  if (k > 0) decShiftLeft(k);
  else if (k < 0) decShiftRight(-k);
}

function decRoundUp(at: i32): bool {
  if (at < 0 || at >= decCount) return false;
  const d = load<u8>(decDigits + <usize>at);
  if (d == 5 && at + 1 == decCount) {
    if (decTruncated) return true;
    return at > 0 && (load<u8>(decDigits + <usize>(at - 1)) & 1) != 0;
  }
  return d >= 5;
}

function decRoundedInteger(): u64 {
  if (decPoint > 20) return 0xffffffffffffffff;
  let n: u64 = 0;
  let i = 0;
  for (; i < decPoint && i < decCount; i++) n = n * 10 + decDigit(i);
  for (; i < decPoint; i++) n *= 10;
  if (decRoundUp(decPoint)) n++;
  return n;
}

/** Bits of how far to shift to move |decPoint| toward 0 without overshooting much. */
function decStep(point: i32): i32 {
  if (point >= 19) return MAX_SHIFT;
  if (point >= 9) return 27;
  // Go's powtab: 2^powtab[i] < 10^i.
  return <i32>unchecked(POWTAB[point]);
}
const POWTAB: StaticArray<u8> = [1, 3, 6, 9, 13, 16, 19, 23, 26];

/** The f64 nearest the (valid) number text[from, to). */
function decimalToF64(from: i32, to: i32): f64 {
  decCount = 0;
  decPoint = 0;
  decTruncated = false;
  let p = from;
  let negative = false;
  if (unit(p) == 0x2d) {
    negative = true;
    p++;
  }
  let sawDot = false;
  let seen = 0; // significant digits, kept or not
  for (; p < to; p++) {
    const c = unit(p);
    if (c == 0x2e) {
      sawDot = true;
      decPoint = seen;
      continue;
    }
    const d = c - 0x30;
    if (<u32>d >= 10) break;
    if (d == 0 && seen == 0) {
      decPoint--;
      continue;
    }
    seen++;
    if (decCount < DEC_MAX) {
      store<u8>(decDigits + <usize>decCount, <u8>d);
      decCount++;
    } else if (d != 0) {
      decTruncated = true;
    }
  }
  if (!sawDot) decPoint = seen;
  if (p < to) { // exponent
    p++;
    let expNegative = false;
    let c = unit(p);
    if (c == 0x2b || c == 0x2d) {
      expNegative = c == 0x2d;
      p++;
    }
    let e = 0;
    for (; p < to; p++) {
      if (e < 100_000_000) e = e * 10 + (unit(p) - 0x30);
    }
    decPoint += expNegative ? -e : e;
  }
  let bits: u64 = 0;
  if (decCount == 0 || decPoint < -330) {
    bits = 0;
  } else if (decPoint > 310) {
    bits = 0x7ff0000000000000;
  } else {
    let exp = 0;
    while (decPoint > 0 && decCount > 0) {
      const k = decStep(decPoint);
      decShift(-k);
      exp += k;
    }
    while (decCount > 0 && (decPoint < 0 || (decPoint == 0 && load<u8>(decDigits) < 5))) {
      const k = decStep(-decPoint);
      decShift(k);
      exp -= k;
    }
    exp--; // [1/2, 1) to [1, 2)
    if (exp < -1022) {
      const k = -1022 - exp;
      decShift(-k);
      exp += k;
    }
    if (exp + 1023 >= 0x7ff) {
      bits = 0x7ff0000000000000;
    } else {
      decShift(53);
      let mant = decRoundedInteger();
      if (mant == (<u64>2 << 52)) {
        mant >>= 1;
        exp++;
      }
      if (exp + 1023 >= 0x7ff) {
        bits = 0x7ff0000000000000;
      } else {
        if ((mant & (<u64>1 << 52)) == 0) exp = -1023; // subnormal
        bits = (mant & ((<u64>1 << 52) - 1)) | (<u64>((exp + 1023) & 0x7ff) << 52);
      }
    }
  }
  if (negative) bits |= <u64>1 << 63;
  return reinterpret<f64>(bits);
}

// ---------------------------------------------------------------------------
// ConfigReader

/** The path of member key of the object at path: 'key' or 'path.key'. */
export function keyPath(path: string, key: string): string {
  return path.length == 0 ? key : path + "." + key;
}

/** s as a JSON string, quoted and escaped (for an answer, or a log line in JSON). */
export function jsonQuote(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c == 0x22 || c == 0x5c) out += '\\' + String.fromCharCode(c);
    else if (c < 0x20) out += '\\u' + (<u32>c).toString(16).padStart(4, '0');
    else out += String.fromCharCode(c);
  }
  return out + '"';
}

/** The path of item i of the array at path: 'path[i]'. */
export function itemPath(path: string, i: i32): string {
  return path + "[" + i.toString() + "]";
}

function formatNumber(x: f64): string {
  if (x == Math.floor(x) && Math.abs(x) < 1e18) return (<i64>x).toString();
  return x.toString();
}

function rangeText(min: f64, max: f64): string {
  const low = isFinite(min);
  const high = isFinite(max);
  if (low && high) return " from " + formatNumber(min) + " to " + formatNumber(max);
  if (low) return " >= " + formatNumber(min);
  if (high) return " <= " + formatNumber(max);
  return "";
}

/** Reads config fields with checks; keeps the first error. See the top of this file. */
export class ConfigReader {
  readonly root: JsonValue | null;
  private failed: bool = false;
  private first: string = "";

  /** root: parseJson's result; null records the parse error. */
  constructor(root: JsonValue | null) {
    this.root = root;
    if (root === null) {
      const why = jsonError();
      this.failed = true;
      this.first = why.length > 0 ? "invalid JSON " + why : "no config";
    }
  }

  ok(): bool {
    return !this.failed;
  }

  /** The first error recorded, '' if none. */
  error(): string {
    return this.first;
  }

  /** Records `path: message` unless an error was recorded before ('(root)' for path ''). */
  fail(path: string, message: string): void {
    if (this.failed) return;
    this.failed = true;
    this.first = (path.length > 0 ? path : "(root)") + ": " + message;
  }

  /** Whether v is an object; records 'required' (v null or JSON null) or 'must be an object'. */
  object(v: JsonValue | null, path: string): bool {
    if (v !== null && v.kind == JsonKind.Object) return true;
    this.fail(path, v === null || v.kind == JsonKind.Null ? "required" : "must be an object");
    return false;
  }

  /** Member key of obj, null when absent (or JSON null, or obj null); no checks. */
  field(obj: JsonValue | null, key: string): JsonValue | null {
    if (obj === null) return null;
    const v = obj.get(key);
    return v !== null && v.kind != JsonKind.Null ? v : null;
  }

  /** Like field, but records 'must be an object' when obj is not one. */
  private look(obj: JsonValue | null, path: string, key: string): JsonValue | null {
    if (obj === null) return null;
    if (obj.kind != JsonKind.Object) {
      this.fail(path, "must be an object");
      return null;
    }
    return this.field(obj, key);
  }

  /** A string member; fallback null: required. On error: fallback, or ''. */
  string(obj: JsonValue | null, key: string, path: string, fallback: string | null = null): string {
    const v = this.look(obj, path, key);
    if (v !== null && v.kind == JsonKind.String) return v.asString();
    if (v !== null || fallback === null) this.fail(keyPath(path, key), v !== null ? "must be a string" : "required");
    return fallback !== null ? fallback : "";
  }

  /** A finite number member within [min, max]; fallback NaN: required. On error:
   *  fallback, or the value of [min, max] nearest 0. */
  number(obj: JsonValue | null, key: string, path: string, min: f64, max: f64, fallback: f64 = NaN): f64 {
    return this.numeric(obj, key, path, min, max, fallback, false);
  }

  /** Like number, and a whole number. */
  integer(obj: JsonValue | null, key: string, path: string, min: f64, max: f64, fallback: f64 = NaN): f64 {
    return this.numeric(obj, key, path, min, max, fallback, true);
  }

  private numeric(obj: JsonValue | null, key: string, path: string, min: f64, max: f64, fallback: f64, whole: bool): f64 {
    const v = this.look(obj, path, key);
    if (v !== null) {
      const x = v.asNumber(); // NaN unless a number
      if (isFinite(x) && x >= min && x <= max && (!whole || Math.floor(x) == x)) return x;
    }
    if (v !== null || isNaN(fallback)) {
      this.fail(keyPath(path, key), v === null ? "required" : (whole ? "must be an integer" : "must be a number") + rangeText(min, max));
    }
    if (!isNaN(fallback)) return fallback;
    return min > 0 ? min : max < 0 ? max : 0;
  }

  /** true or false; fallback -1: required, 0: false, 1: true. On error: the fallback, or false. */
  bool(obj: JsonValue | null, key: string, path: string, fallback: i32 = -1): bool {
    const v = this.look(obj, path, key);
    if (v !== null && v.kind == JsonKind.Bool) return v.asBool();
    if (v !== null || fallback < 0) this.fail(keyPath(path, key), v !== null ? "must be true or false" : "required");
    return fallback > 0;
  }

  /** The index in choices of a string member; fallback -1: required. On error: the fallback, or 0. */
  choice(obj: JsonValue | null, key: string, path: string, choices: string[], fallback: i32 = -1): i32 {
    const v = this.look(obj, path, key);
    if (v !== null && v.kind == JsonKind.String) {
      const s = v.asString();
      for (let i = 0; i < choices.length; i++) if (choices[i] == s) return i;
    }
    if (v !== null || fallback < 0) {
      this.fail(keyPath(path, key), v !== null ? "must be one of: " + choices.join(", ") : "required");
    }
    return fallback >= 0 ? fallback : 0;
  }

  /** An array member; null when absent (an error if required) or not an array (an error). */
  array(obj: JsonValue | null, key: string, path: string, required: bool = true): JsonValue | null {
    return this.container(obj, key, path, required, JsonKind.Array);
  }

  /** An object member; null when absent (an error if required) or not an object (an error). */
  child(obj: JsonValue | null, key: string, path: string, required: bool = true): JsonValue | null {
    return this.container(obj, key, path, required, JsonKind.Object);
  }

  private container(obj: JsonValue | null, key: string, path: string, required: bool, kind: JsonKind): JsonValue | null {
    const v = this.look(obj, path, key);
    if (v !== null && v.kind == kind) return v;
    if (v !== null) this.fail(keyPath(path, key), kind == JsonKind.Array ? "must be an array" : "must be an object");
    else if (required) this.fail(keyPath(path, key), "required");
    return null;
  }

  /** Records an error for the first key of obj not in allowed; false if there was one. */
  unknownKeys(obj: JsonValue | null, path: string, allowed: string[]): bool {
    if (obj === null) return true;
    if (obj.kind != JsonKind.Object) {
      this.fail(path, "must be an object");
      return false;
    }
    for (let i = 0, n = obj.length; i < n; i++) {
      const key = obj.keyAt(i)!;
      if (!allowed.includes(key)) {
        this.fail(keyPath(path, key), "unknown key (allowed: " + allowed.join(", ") + ")");
        return false;
      }
    }
    return true;
  }
}
