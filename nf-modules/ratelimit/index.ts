// ratelimit: token buckets, one per flow or per source prefix. A packet that
// finds enough tokens in its bucket takes them and goes on; one that does not
// is dropped (rate_limited). Buckets refill at `rate` per second up to
// `burst`; a new bucket starts full. The clock is read once per burst.
//
// config:
//   per: flow | source                (flow) flow: both directions of a 5-tuple share a bucket;
//                                            source: one per source address masked to prefix_v4 / prefix_v6
//   prefix_v4: 0..32 (32), prefix_v6: 0..128 (64)
//   unit: packets | bytes             (packets) what rate and burst count
//   rate: number > 0                  (required) per second
//   burst: number > 0                 (required) bucket size, at least one packet's worth
//   buckets: int (65536), timeout_s: number (60) buckets kept, idle time before one is forgotten
// Non-IP frames pass unlimited (metric unlimited).
//
// A message (nf-modules/sdk/messages.ts), JSON, from the operator (`netvm send`) or an NF:
// {"rate": number, "burst": number} (either or both) sets a new rate and bucket size from
// now on, for the buckets there are and those to come; the answer gives both.
import { ConfigReader, jsonQuote, parseJson } from '../sdk/json';
import { FlowTable } from '../sdk/flow-table';
import {
  DROP, FLOW_KEY_BYTES, LogLevel, Parsed, answer, configText, counter, flowHash, flowKey, gauge, log, nowNs, packetLen, setVerdict,
} from '../sdk';
export * from '../sdk/exports';

let table: FlowTable | null = null;
let tokens: usize = 0;   // f64 per slot
let lastNs: usize = 0;   // u64 per slot
let perFlow = true;
let countBytes = false;
let prefix4: u32 = 32;
let prefix6: u32 = 64;
let rate: f64 = 0;       // tokens per ns
let burst: f64 = 0;

const p = new Parsed();
const key: usize = memory.data(FLOW_KEY_BYTES, 8);
const passed = counter('passed');
const limited = counter('rate_limited');
const unlimited = counter('unlimited');
const untracked = counter('untracked');
const buckets = gauge('buckets');

export function netvm_configure(ptr: usize, len: i32): i32 {
  const r = new ConfigReader(parseJson(configText(ptr, len)));
  const root = r.root;
  r.object(root, '');
  r.unknownKeys(root, '', ['per', 'prefix_v4', 'prefix_v6', 'unit', 'rate', 'burst', 'buckets', 'timeout_s']);
  perFlow = r.choice(root, 'per', '', ['flow', 'source'], 0) == 0;
  prefix4 = <u32>r.integer(root, 'prefix_v4', '', 0, 32, 32);
  prefix6 = <u32>r.integer(root, 'prefix_v6', '', 0, 128, 64);
  countBytes = r.choice(root, 'unit', '', ['packets', 'bytes'], 0) == 1;
  const perSecond = r.number(root, 'rate', '', 1e-9, Infinity);
  burst = r.number(root, 'burst', '', 1, Infinity);
  const capacity = <u32>r.integer(root, 'buckets', '', 1, 8388608, 65536);
  const timeout = r.number(root, 'timeout_s', '', 0.001, 604800, 60);
  if (!r.ok()) {
    log(LogLevel.ERROR, `config: ${r.error()}`);
    return 1;
  }
  rate = perSecond / 1e9;
  const t = new FlowTable(capacity, <u64>(timeout * 1e9));
  tokens = heap.alloc(<usize>t.capacity * 8);
  lastNs = heap.alloc(<usize>t.capacity * 8);
  table = t;
  return 0;
}

export function netvm_message(ptr: usize, len: i32, from: i32): void {
  const r = new ConfigReader(parseJson(String.UTF8.decodeUnsafe(ptr, <usize>len)));
  const root = r.root;
  r.object(root, '');
  r.unknownKeys(root, '', ['rate', 'burst']);
  const perSecond = r.number(root, 'rate', '', 1e-9, Infinity, rate * 1e9);
  const newBurst = r.number(root, 'burst', '', 1, Infinity, burst);
  if (!r.ok()) {
    if (from < 0) answer(`{"error":${jsonQuote(r.error())}}`);
    else log(LogLevel.WARN, `a message from the NF at ${from}: ${r.error()}`);
    return;
  }
  rate = perSecond / 1e9;
  burst = newBurst;
  if (from < 0) answer(`{"rate":${perSecond},"burst":${burst}}`);
}

/** Writes the source key: the source address masked to the prefix, and the IP version. */
function sourceKey(): void {
  const src = p.srcAddr();
  const v6 = p.ipVersion == 6;
  const bits = v6 ? prefix6 : prefix4;
  let hi = v6 ? bswap<u64>(load<u64>(src)) : <u64>bswap<u32>(load<u32>(src)) << 32;
  let lo = v6 ? bswap<u64>(load<u64>(src, 8)) : 0;
  hi = bits == 0 ? 0 : bits >= 64 ? hi : hi & ~(<u64>-1 >> bits);
  lo = bits <= 64 ? 0 : bits >= 128 ? lo : lo & ~(<u64>-1 >> (bits - 64));
  store<u64>(key, hi);
  store<u64>(key, lo, 8);
  store<u64>(key, 0, 16);
  store<u64>(key, 0, 24);
  store<u64>(key, <u64>p.ipVersion << 40, 32);
}

export function netvm_process(n: i32): void {
  const t = table;
  if (t == null) return; // not configured
  const now = <u64>nowNs();
  for (let i = 0; i < n; i++) {
    const len = packetLen(i);
    p.at(i);
    if (p.ipVersion == 0) {
      unlimited.add();
      continue;
    }
    if (perFlow) flowKey(p, key);
    else sourceKey();
    const slot = t.findOrInsert(key, flowHash(key), now);
    if (slot < 0) {
      untracked.add();
      continue;
    }
    const tk = tokens + (<usize>slot << 3);
    const ls = lastNs + (<usize>slot << 3);
    let have: f64;
    if (t.inserted) {
      have = burst;
    } else {
      const elapsed = <f64>(now - load<u64>(ls));
      have = min(burst, load<f64>(tk) + elapsed * rate);
    }
    store<u64>(ls, now);
    const cost: f64 = countBytes ? <f64>len : 1;
    if (have >= cost) {
      store<f64>(tk, have - cost);
      passed.add();
    } else {
      store<f64>(tk, have);
      setVerdict(i, DROP);
      limited.add();
    }
  }
  t.expire(now, 64);
  buckets.set(t.size);
}
