// monitor: passes every packet unchanged (verdict NEXT, no byte written) and
// measures the traffic: packets and bytes, per flow and in total, and the
// top-K flows by bytes (heavy hitters).
//
// config (all optional; unknown keys are refused):
//   flows: int                 (65536) flows tracked at once, 1..8388608 (rounded up to a power of two)
//   timeout_s: number          (60) idle time before a flow is expired, 0.001..604800
//   top_k: int                 (10) heavy hitters kept, 0..28 (see "metrics")
//   sketch_width_bits: int     (16) count-min sketch rows of 2^bits counters, 4..24
//   sketch_depth: int          (4) count-min sketch rows, 1..8
//   seed: int                  (from the clock) hash seed, 0..4294967295; set it for
//                              reproducible sketch collisions (tests), leave it out otherwise
//
// Flows: canonical 5-tuples (sdk/flow: both directions are one flow; no ports
// unless the TCP/UDP header is there, so non-first fragments are a flow of
// their own) in a FlowTable, with packet and byte counters per flow, expired
// after timeout_s idle by the table's incremental sweep. A packet counts its
// frame length (packetLen) as bytes. A frame that does not parse as IPv4/IPv6
// (including a malformed IP header) is non_ip and belongs to no flow.
//
// Heavy hitters: a count-min sketch over the flow keys (it outlives the
// table's expiry) and a min-heap of the K flows with the largest counts. A
// flow's packet adds its length to the sketch; a flow in the heap adds it to
// its heap value as well, so its value is the sketch's estimate when it
// entered plus its bytes since (never below its true count; above it by at
// most the sketch's error when it entered). A flow not in the heap enters it
// when its estimate exceeds the heap's smallest value, which it replaces.
// With an exact sketch (no flow colliding with another in every row) the heap
// holds exactly the K largest flows' byte counts. Sketch counters are u32 and
// saturate at 2^32 - 1: a flow's estimate can't exceed that until it is in
// the heap, where its value is a u64.
//
// Metrics:
//   packets, bytes, ip_packets, non_ip (counters); flows (gauge: flows in the
//   table); new_flows, expired_flows (counters); untracked (counter: packets
//   of new flows that found no free slot, the table being full of live
//   flows; they still count in the sketch and the heap).
//   top_<i>_bytes, top_<i>_proto (gauges) for i < K: the heap's flows ordered
//   by bytes, largest first; 0 and 0 where the heap holds fewer than i + 1.
//   A flow's addresses and ports can't be a metric value (and the host ABI
//   has no call to read the NF), so only its byte count and IP protocol are
//   exported. The host takes at most 64 metrics: 8 above plus 2 per heavy
//   hitter leaves 28 for K. Gauges top_0..top_9 are defined at start-up (the
//   default K, for a monitor run without a config) and stay 0 when top_k < 10.
import { ConfigReader, parseJson } from '../sdk/json';
import { FlowTable } from '../sdk/flow-table';
import { CountMinSketch } from '../sdk/sketch';
import {
  FLOW_KEY_BYTES, Gauge, LogLevel, MAX_BURST, MAX_METRICS, Parsed, configText, counter, flowKey, gauge, log, nowNs,
  packetLen,
} from '../sdk';
export * from '../sdk/exports';

const BASE_METRICS: i32 = 8;
/** The most heavy hitters: two gauges each besides the base metrics. */
const MAX_TOP_K: i32 = (MAX_METRICS - BASE_METRICS) / 2;
const DEFAULT_TOP_K: i32 = 10;
/** Slots the expiry sweep examines per burst. */
const EXPIRE_BUDGET: u32 = 64;
/** Freed slots pending between drains: at most a sweep's budget plus a reclaim's. */
const FREED_RING: u32 = 1024;

// Per-flow record, per table slot (16 bytes):
//   +0 u64 packets << 8 | (heap entry + 1, 0 when the flow is not in the heap)
//   +8 u64 bytes
const F_BYTES: usize = 8;
const LINK_MASK: u64 = 0xff;
const ONE_PACKET: u64 = 0x100;

// Heap entry (64 bytes), by entry id; the heap orders entry ids by value.
//   [0, 40) flow key, +40 u64 hash, +48 u64 value (bytes), +56 i32 table slot (-1 none), +60 i32 heap position
const E_HASH: usize = 40;
const E_VALUE: usize = 48;
const E_SLOT: usize = 56;
const E_POS: usize = 60;

const entries: usize = memory.data(MAX_TOP_K * 64, 64);
const heapIds: usize = memory.data(MAX_TOP_K * 4, 4); // u32 entry id per heap position
const order: usize = memory.data(MAX_TOP_K * 4, 4);   // scratch: entry ids sorted for the gauges
let heapSize: i32 = 0;
let unlinked: i32 = 0; // heap entries without a table slot: only they need findEntry's scan
let topK: i32 = DEFAULT_TOP_K;
let topDirty = false;

let table: FlowTable | null = null;
let sketch: CountMinSketch | null = null;
let flowData: usize = 0;

// The burst, in passes: keys, hashes and lengths of its IP packets.
const keys: usize = memory.data(MAX_BURST * FLOW_KEY_BYTES, 64);
const hashes: usize = memory.data(MAX_BURST * 8, 8);   // u64
const hashes32: usize = memory.data(MAX_BURST * 4, 4); // u32, the table's (for prefetch)
const lens: usize = memory.data(MAX_BURST * 4, 4);

const p = new Parsed();

const packets = counter('packets');
const bytes = counter('bytes');
const ipPackets = counter('ip_packets');
const nonIp = counter('non_ip');
const flows = gauge('flows');
const newFlows = counter('new_flows');
const expiredFlows = counter('expired_flows');
const untracked = counter('untracked');
const topBytes: Gauge[] = [];
const topProto: Gauge[] = [];
defineTopGauges(DEFAULT_TOP_K);

function defineTopGauges(k: i32): void {
  for (let i = topBytes.length; i < k; i++) {
    topBytes.push(gauge(`top_${i}_bytes`));
    topProto.push(gauge(`top_${i}_proto`));
  }
}

// ---- configuration -------------------------------------------------------

function splitmix(x: u64): u64 {
  x += 0x9e3779b97f4a7c15;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9;
  x = (x ^ (x >> 27)) * 0x94d049bb133111eb;
  return x ^ (x >> 31);
}

function setup(capacity: u32, timeoutNs: u64, k: i32, widthBits: u32, depth: u32, seedValue: u64): void {
  const t = new FlowTable(capacity, timeoutNs, FREED_RING);
  table = t;
  sketch = new CountMinSketch(widthBits, depth);
  const recordBytes = <usize>t.capacity << 4;
  flowData = (heap.alloc(recordBytes + 64) + 63) & ~<usize>63;
  memory.fill(flowData, 0, recordBytes);
  topK = k;
  heapSize = 0;
  unlinked = 0;
  topDirty = true;
  let x = seedValue;
  for (let i: usize = 0; i < 40; i += 8) {
    x = splitmix(x);
    store<u64>(nhKey + i, x);
  }
  defineTopGauges(k);
}

export function netvm_configure(ptr: usize, len: i32): i32 {
  const root = parseJson(configText(ptr, len));
  const r = new ConfigReader(root);
  if (r.ok()) {
    r.object(root, '');
    r.unknownKeys(root, '', ['flows', 'timeout_s', 'top_k', 'sketch_width_bits', 'sketch_depth', 'seed']);
  }
  const capacity = <u32>r.integer(root, 'flows', '', 1, 8388608, 65536);
  const timeout = r.number(root, 'timeout_s', '', 0.001, 604800, 60);
  const k = <i32>r.integer(root, 'top_k', '', 0, MAX_TOP_K, DEFAULT_TOP_K);
  const widthBits = <u32>r.integer(root, 'sketch_width_bits', '', 4, 24, 16);
  const depth = <u32>r.integer(root, 'sketch_depth', '', 1, 8, 4);
  const seedValue = r.integer(root, 'seed', '', 0, 4294967295, -1);
  if (!r.ok()) {
    log(LogLevel.ERROR, `config: ${r.error()}`);
    return 1;
  }
  setup(capacity, <u64>(timeout * 1e9), k, widthBits, depth, seedValue < 0 ? <u64>nowNs() : <u64>seedValue);
  return 0;
}

// ---- heavy hitters -----------------------------------------------------------

// The flow hash: NH (UMAC's: sums of products of key words plus secret
// words, which two distinct keys share with a chance of 2^-32 over the
// secret), then murmur3's 64-bit finalizer. The five products are
// independent, so the hash costs about one multiply's latency plus the
// finalizer's, not five rounds in a row.
const nhKey: usize = memory.data(40, 8); // 10 secret u32 words

@inline function nhPair(key: usize, at: usize): u64 {
  return <u64>(load<u32>(key + at) + load<u32>(nhKey + at)) * <u64>(load<u32>(key + at + 4) + load<u32>(nhKey + at + 4));
}

/** A seeded 64-bit hash of a flow key: its low half is the table's hash, both halves the sketch's. */
@inline function hash64(key: usize): u64 {
  let h = nhPair(key, 0) + nhPair(key, 8) + nhPair(key, 16) + nhPair(key, 24) + nhPair(key, 32);
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccd;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53;
  h ^= h >> 33;
  return h;
}

@inline function entry(id: u32): usize {
  return entries + (<usize>id << 6);
}

@inline function entryAt(pos: i32): usize {
  return entry(load<u32>(heapIds + (<usize>pos << 2)));
}

@inline function place(pos: i32, e: usize): void {
  store<u32>(heapIds + (<usize>pos << 2), <u32>((e - entries) >> 6));
  store<i32>(e, pos, E_POS);
}

function siftDown(pos: i32): void {
  const e = entryAt(pos);
  const v = load<u64>(e, E_VALUE);
  const n = heapSize;
  while (true) {
    let c = 2 * pos + 1;
    if (c >= n) break;
    let ce = entryAt(c);
    if (c + 1 < n) {
      const re = entryAt(c + 1);
      if (load<u64>(re, E_VALUE) < load<u64>(ce, E_VALUE)) {
        c++;
        ce = re;
      }
    }
    if (load<u64>(ce, E_VALUE) >= v) break;
    place(pos, ce);
    pos = c;
  }
  place(pos, e);
}

function siftUp(pos: i32): void {
  const e = entryAt(pos);
  const v = load<u64>(e, E_VALUE);
  while (pos > 0) {
    const parent = (pos - 1) >> 1;
    const pe = entryAt(parent);
    if (load<u64>(pe, E_VALUE) <= v) break;
    place(pos, pe);
    pos = parent;
  }
  place(pos, e);
}

@inline function sameKey(a: usize, b: usize): bool {
  return ((load<u64>(a) ^ load<u64>(b)) | (load<u64>(a, 8) ^ load<u64>(b, 8)) | (load<u64>(a, 16) ^ load<u64>(b, 16)) |
    (load<u64>(a, 24) ^ load<u64>(b, 24)) | (load<u64>(a, 32) ^ load<u64>(b, 32))) == 0;
}

/** The heap entry of a flow, -1 if not in the heap (a scan: for flows without a linked slot). */
function findEntry(h: u64, key: usize): i32 {
  if (unlinked == 0) return -1;
  for (let id = 0; id < heapSize; id++) {
    const e = entry(<u32>id);
    if (load<u64>(e, E_HASH) == h && sameKey(e, key)) return id;
  }
  return -1;
}

/** Fills entry e with a flow entering the heap, linked both ways with its slot. */
function fill(e: usize, key: usize, h: u64, value: u64, slot: i32): void {
  store<u64>(e, load<u64>(key));
  store<u64>(e, load<u64>(key, 8), 8);
  store<u64>(e, load<u64>(key, 16), 16);
  store<u64>(e, load<u64>(key, 24), 24);
  store<u64>(e, load<u64>(key, 32), 32);
  store<u64>(e, h, E_HASH);
  store<u64>(e, value, E_VALUE);
  store<i32>(e, slot, E_SLOT);
  if (slot < 0) unlinked++;
  else {
    const w = flowData + (<usize>slot << 4);
    store<u64>(w, (load<u64>(w) & ~LINK_MASK) | <u64>(((e - entries) >> 6) + 1));
  }
}

/** Counts len bytes of the flow (key, hash h, table slot or -1) in the sketch and the heap. */
@inline function account(s: CountMinSketch, h: u64, key: usize, len: u32, slot: i32): void {
  const est = s.add(h, len);
  const id: i32 = slot >= 0 ? <i32>(load<u64>(flowData + (<usize>slot << 4)) & LINK_MASK) - 1 : findEntry(h, key);
  if (id >= 0) {
    const e = entry(<u32>id);
    store<u64>(e, load<u64>(e, E_VALUE) + len, E_VALUE);
    siftDown(load<i32>(e, E_POS));
    topDirty = true;
  } else if (heapSize < topK) {
    const pos = heapSize++;
    const e = entry(<u32>pos);
    fill(e, key, h, est, slot);
    place(pos, e);
    siftUp(pos);
    topDirty = true;
  } else if (heapSize > 0 && <u64>est > load<u64>(entryAt(0), E_VALUE)) {
    const e = entryAt(0);
    const old = load<i32>(e, E_SLOT);
    if (old >= 0) {
      const w = flowData + (<usize>old << 4);
      store<u64>(w, load<u64>(w) & ~LINK_MASK);
    } else {
      unlinked--;
    }
    fill(e, key, h, est, slot);
    siftDown(0);
    topDirty = true;
  }
}

function publishTop(): void {
  const n = heapSize;
  // Insertion sort of at most MAX_TOP_K entry ids, largest value first.
  for (let i = 0; i < n; i++) {
    const id = load<u32>(heapIds + (<usize>i << 2));
    const v = load<u64>(entry(id), E_VALUE);
    let j = i;
    while (j > 0) {
      const prev = load<u32>(order + (<usize>(j - 1) << 2));
      if (load<u64>(entry(prev), E_VALUE) >= v) break;
      store<u32>(order + (<usize>j << 2), prev);
      j--;
    }
    store<u32>(order + (<usize>j << 2), id);
  }
  for (let i = 0; i < topBytes.length; i++) {
    if (i < n) {
      const e = entry(load<u32>(order + (<usize>i << 2)));
      unchecked(topBytes[i]).set(<i64>load<u64>(e, E_VALUE));
      unchecked(topProto[i]).set(<i64>load<u8>(e, 36));
    } else {
      unchecked(topBytes[i]).set(0);
      unchecked(topProto[i]).set(0);
    }
  }
  topDirty = false;
}

// ---- per packet ------------------------------------------------------------

/** Takes the slots the table freed (expiry, reclaim): unlinks their heap entries. */
function drainFreed(t: FlowTable): void {
  let s = t.popFreed();
  let n: u64 = 0;
  while (s >= 0) {
    const w = flowData + (<usize>s << 4);
    const link = <u32>(load<u64>(w) & LINK_MASK);
    if (link != 0) {
      store<i32>(entry(link - 1), -1, E_SLOT);
      unlinked++;
    }
    store<u64>(w, 0);
    n++;
    s = t.popFreed();
  }
  if (n != 0) expiredFlows.add(n);
}

export function netvm_process(n: i32): void {
  if (table == null) setup(65536, 60_000_000_000, DEFAULT_TOP_K, 16, 4, <u64>nowNs());
  const t = table!;
  const s = sketch!;
  const now = <u64>nowNs();

  // Pass 1: parse, key and hash every IP packet.
  let total: u64 = 0;
  let m = 0;
  for (let i = 0; i < n; i++) {
    const len = packetLen(i);
    total += len;
    if (!p.at(i)) continue;
    const k = keys + <usize>m * FLOW_KEY_BYTES;
    flowKey(p, k);
    const h = hash64(k);
    store<u64>(hashes + (<usize>m << 3), h);
    store<u32>(hashes32 + (<usize>m << 2), <u32>h);
    store<u32>(lens + (<usize>m << 2), len);
    m++;
  }

  // Pass 2: the table's cache misses of the whole burst together, then each flow.
  t.prefetch(hashes32, m);
  let created: u64 = 0;
  let lost: u64 = 0;
  for (let j = 0; j < m; j++) {
    const k = keys + <usize>j * FLOW_KEY_BYTES;
    const h = load<u64>(hashes + (<usize>j << 3));
    const len = load<u32>(lens + (<usize>j << 2));
    // find first: the common hit in a small call, the insert path (findOrInsert's) apart.
    let slot = t.find(k, <u32>h);
    let inserted = false;
    if (slot >= 0) {
      t.touch(<u32>slot, now);
    } else {
      slot = t.findOrInsert(k, <u32>h, now);
      inserted = true;
    }
    if (slot >= 0) {
      const w = flowData + (<usize>slot << 4);
      if (inserted) {
        // The new slot may be one the table has just freed: settle those first.
        drainFreed(t);
        created++;
        const id = findEntry(h, k);
        if (id >= 0) {
          store<i32>(entry(<u32>id), slot, E_SLOT);
          unlinked--;
        }
        store<u64>(w, ONE_PACKET | <u64>(id + 1));
        store<u64>(w, len, F_BYTES);
      } else {
        store<u64>(w, load<u64>(w) + ONE_PACKET);
        store<u64>(w, load<u64>(w, F_BYTES) + len, F_BYTES);
      }
    } else {
      lost++;
    }
    account(s, h, k, len, slot);
  }

  t.expire(now, EXPIRE_BUDGET);
  drainFreed(t);
  packets.add(<u64>n);
  bytes.add(total);
  ipPackets.add(<u64>m);
  nonIp.add(<u64>(n - m));
  if (created != 0) newFlows.add(created);
  if (lost != 0) untracked.add(lost);
  flows.set(t.size);
  if (topDirty) publishTop();
}
