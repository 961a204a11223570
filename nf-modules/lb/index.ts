// lb: an L4 load balancer with Maglev consistent hashing (Eisenbud et al.,
// NSDI 2016), in direct-server-return mode: a packet to a VIP is sent to one
// of the VIP's backends by rewriting its destination MAC and sending it out
// of the backend's port; the IP packet is not changed (backends hold the VIP),
// and replies go straight back to clients.
// A flow's backend is chosen once, by the Maglev table, and remembered in a
// flow table, so a flow stays on its backend for its whole life; and because
// Maglev tables move few entries when a pool changes, most flows of another
// instance configured with the changed pool land on the same backend too.
//
// config:
//   vips: [ { vip: "192.0.2.10" | "2001:db8::10", port: 80, proto: tcp | udp,
//             backends: [ { name: "web1", mac: "02:00:00:00:01:01", port: <port index> } ] } ]  (required)
//   table_size: prime (65537)     Maglev table entries per VIP (more: finer balance)
//   flows: int (65536), timeout_s: number (60)
//   egress: port | next (port)   port: a balanced packet leaves at once by its backend's port;
//                                next: it goes on to the next NF (the backend's port unused)
// Backend names are unique over all VIPs; each backend gets a counter to_<name>.
// Packets to no VIP go on unchanged (metric not_vip).
// State handover (hot-swap): the flows move to the new instance with their
// backends, by name; a flow whose backend the new config does not have is
// left behind (import_skipped) and its next packet is balanced afresh.
import { ConfigReader, JsonValue, itemPath, keyPath, parseJson } from '../sdk/json';
import { FlowTable } from '../sdk/flow-table';
import {
  Counter, FLOW_KEY_BYTES, IPPROTO_TCP, IPPROTO_UDP, LogLevel, MAX_BURST, META_IP_VERSION, META_L3, META_L4, META_L4_PROTO,
  Parsed, loadBe16, StateWriter, configText, openState, counter, flowHash, flowKey, gauge, log,
  nowNs, outPort, parseMac, parsePrefix, setVerdict,
} from '../sdk';
export * from '../sdk/exports';

const MAX_VIPS = 64;
const MAX_BACKENDS = 1024;

class Vip {
  addr: usize = heap.alloc(16); // network order; IPv4 in the first 4 bytes
  version: u8 = 0;
  proto: u8 = 0;
  port: u16 = 0;
  first: u32 = 0;       // its backends: [first, first + count) of the global arrays
  count: u32 = 0;
  table: usize = 0;     // u16 backend (relative) per Maglev entry
}

let vips: Vip[] = [];
let tableSize: u32 = 65537;
let backendMac: usize = 0;       // 6 bytes a backend
let backendPort: StaticArray<u32> = new StaticArray<u32>(0);
let backendCounters: Counter[] = [];
let backendNames: string[] = [];
let toNext = false; // egress: next
let flows: FlowTable | null = null;
let flowBackend: usize = 0;      // u32 (global backend index) per flow slot

const p = new Parsed();
const key: usize = memory.data(FLOW_KEY_BYTES, 8);
const balanced = counter('balanced');
const newFlows = counter('new_flows');
const notVip = counter('not_vip');
const untracked = counter('untracked');
const importedFlows = counter('imported_flows');
const importSkipped = counter('import_skipped');
const tracked = gauge('flows');

function isPrime(n: u32): bool {
  if (n < 2) return false;
  for (let d: u32 = 2; d * d <= n; d++) if (n % d == 0) return false;
  return true;
}

/** FNV-1a over a string, with a seed: the two hashes of a backend's name. */
function nameHash(s: string, seed: u32): u32 {
  let h: u32 = 2166136261 ^ seed;
  for (let i = 0; i < s.length; i++) {
    h ^= <u32>s.charCodeAt(i);
    h *= 16777619;
  }
  return h;
}

/** Fills a Maglev lookup table of tableSize entries for the given backend names. */
function buildTable(names: string[]): usize {
  const m = tableSize;
  const n = names.length;
  const table = heap.alloc(<usize>m * 2);
  memory.fill(table, 0xff, <usize>m * 2);
  const offset = new StaticArray<u32>(n);
  const skip = new StaticArray<u32>(n);
  const next = new StaticArray<u32>(n);
  for (let i = 0; i < n; i++) {
    offset[i] = nameHash(names[i], 0x5bd1e995) % m;
    skip[i] = nameHash(names[i], 0x1b873593) % (m - 1) + 1;
  }
  let filled: u32 = 0;
  while (filled < m) {
    for (let i = 0; i < n && filled < m; i++) {
      // The next entry in backend i's preference order that is still free.
      let c = <u32>((<u64>offset[i] + <u64>next[i] * skip[i]) % m);
      while (load<u16>(table + (<usize>c << 1)) != 0xffff) {
        next[i]++;
        c = <u32>((<u64>offset[i] + <u64>next[i] * skip[i]) % m);
      }
      store<u16>(table + (<usize>c << 1), <u16>i);
      next[i]++;
      filled++;
    }
  }
  return table;
}

function readVip(r: ConfigReader, v: JsonValue, path: string, names: string[], macs: usize, ports: Array<u32>): Vip | null {
  if (!r.object(v, path)) return null;
  r.unknownKeys(v, path, ['vip', 'port', 'proto', 'backends']);
  const vip = new Vip();
  const addr = r.string(v, 'vip', path);
  const parsed = parsePrefix(addr, vip.addr);
  if (r.ok() && (parsed < 0 || (parsed & 0xff) != (parsed >> 8 == 4 ? 32 : 128))) {
    r.fail(keyPath(path, 'vip'), `'${addr}' is not an IPv4 or IPv6 address`);
  }
  vip.version = <u8>(parsed >> 8);
  vip.port = <u16>r.integer(v, 'port', path, 0, 65535);
  vip.proto = r.choice(v, 'proto', path, ['tcp', 'udp']) == 0 ? IPPROTO_TCP : IPPROTO_UDP;
  const list = r.array(v, 'backends', path);
  const n = list == null ? 0 : list.length;
  if (list != null && n == 0) r.fail(keyPath(path, 'backends'), 'needs at least one backend');
  vip.first = names.length;
  const own = new Array<string>();
  for (let i = 0; i < n && r.ok(); i++) {
    const bpath = itemPath(keyPath(path, 'backends'), i);
    const b = list!.at(i);
    if (!r.object(b, bpath)) break;
    r.unknownKeys(b, bpath, ['name', 'mac', 'port']);
    const name = r.string(b, 'name', bpath);
    if (names.includes(name) && r.ok()) r.fail(keyPath(bpath, 'name'), `'${name}' is used twice`);
    if (names.length == MAX_BACKENDS && r.ok()) r.fail(bpath, `more than ${MAX_BACKENDS} backends`);
    if (!r.ok()) break;
    const mac = r.string(b, 'mac', bpath);
    if (!parseMac(mac, macs + <usize>names.length * 6) && r.ok()) r.fail(keyPath(bpath, 'mac'), 'must be a MAC address like 02:00:00:00:00:01');
    ports.push(<u32>r.integer(b, 'port', bpath, 0, 65535));
    names.push(name);
    own.push(name);
  }
  vip.count = <u32>own.length;
  if (r.ok()) vip.table = buildTable(own);
  return vip;
}

export function netvm_configure(ptr: usize, len: i32): i32 {
  const r = new ConfigReader(parseJson(configText(ptr, len)));
  const root = r.root;
  r.object(root, '');
  r.unknownKeys(root, '', ['vips', 'table_size', 'flows', 'timeout_s', 'egress']);
  const egressNext = r.choice(root, 'egress', '', ['port', 'next'], 0) == 1;
  tableSize = <u32>r.integer(root, 'table_size', '', 3, 1048573, 65537);
  if (r.ok() && !isPrime(tableSize)) r.fail('table_size', 'must be a prime (like 65537)');
  const capacity = <u32>r.integer(root, 'flows', '', 1, 8388608, 65536);
  const timeout = r.number(root, 'timeout_s', '', 0.001, 604800, 60);
  const list = r.array(root, 'vips', '');
  const n = list == null ? 0 : list.length;
  if (list != null && (n == 0 || n > MAX_VIPS)) r.fail('vips', `must hold 1 to ${MAX_VIPS} VIPs`);
  const names = new Array<string>();
  const ports = new Array<u32>();
  const macs = heap.alloc(MAX_BACKENDS * 6);
  const all = new Array<Vip>();
  for (let i = 0; i < n && r.ok(); i++) {
    const vip = readVip(r, list!.at(i)!, itemPath('vips', i), names, macs, ports);
    if (vip != null) all.push(vip);
  }
  if (!r.ok()) {
    log(LogLevel.ERROR, `config: ${r.error()}`);
    return 1;
  }
  vips = all;
  toNext = egressNext;
  backendMac = macs;
  backendPort = new StaticArray<u32>(max(ports.length, 1));
  for (let i = 0; i < ports.length; i++) backendPort[i] = ports[i];
  backendNames = names;
  backendCounters = new Array<Counter>(min(names.length, 50));
  for (let i = 0; i < backendCounters.length; i++) backendCounters[i] = counter(`to_${names[i]}`);
  const t = new FlowTable(capacity, <u64>(timeout * 1e9));
  flowBackend = heap.alloc(<usize>t.capacity * 4);
  flows = t;
  return 0;
}

/** The index in `vips` of the VIP the parsed packet goes to, or -1. */
@inline function vipOf(): i32 {
  // The parse's fields read once each, into locals (V8 reloads a Parsed getter's fields at every use).
  const meta = p.meta;
  const proto = load<u8>(meta, META_L4_PROTO);
  const l4 = <usize>load<u16>(meta, META_L4);
  if (l4 == 0 || (proto != IPPROTO_TCP && proto != IPPROTO_UDP)) return -1;
  const version = load<u8>(meta, META_IP_VERSION);
  const dst = p.addr + <usize>load<u16>(meta, META_L3) + (version == 4 ? 16 : 24);
  const port = <u16>loadBe16(p.addr + l4 + 2);
  for (let i = 0; i < vips.length; i++) {
    const v = unchecked(vips[i]);
    if (v.version != version || v.proto != proto || v.port != port) continue;
    if (load<u32>(dst) != load<u32>(v.addr)) continue;
    if (v.version == 6 && (load<u32>(dst, 4) != load<u32>(v.addr, 4) || load<u64>(dst, 8) != load<u64>(v.addr, 8))) continue;
    return i;
  }
  return -1;
}

// The burst's packets to a VIP, in passes (as nat and monitor): their keys, hashes, packet
// indexes, frame addresses and VIPs.
const keys: usize = memory.data(MAX_BURST * FLOW_KEY_BYTES, 64);
const hashes: usize = memory.data(MAX_BURST * 4, 4);
const packetIndex: usize = memory.data(MAX_BURST * 4, 4);
const frames: usize = memory.data(MAX_BURST * 4, 4);
const vipIndex: usize = memory.data(MAX_BURST * 4, 4);

export function netvm_process(n: i32): void {
  const t = flows;
  if (t == null) return; // not configured
  const now = <u64>nowNs();

  // Pass 1: parse, find the VIP, key and hash.
  let m = 0;
  for (let i = 0; i < n; i++) {
    p.at(i);
    const v = p.ipVersion != 0 ? vipOf() : -1;
    if (v < 0) continue;
    const k = keys + <usize>m * FLOW_KEY_BYTES;
    flowKey(p, k);
    store<u32>(hashes + (<usize>m << 2), flowHash(k));
    store<i32>(packetIndex + (<usize>m << 2), i);
    store<u32>(frames + (<usize>m << 2), <u32>p.addr);
    store<i32>(vipIndex + (<usize>m << 2), v);
    m++;
  }

  // Pass 2: the table's cache misses of the whole burst together, then each flow.
  t.prefetch(hashes, m);
  let created: u64 = 0;
  let lost: u64 = 0;
  for (let j = 0; j < m; j++) {
    const at = <usize>j << 2;
    const hash = load<u32>(hashes + at);
    const key = keys + <usize>j * FLOW_KEY_BYTES;
    // find first: the common hit in a small call, the insert path (findOrInsert's) apart.
    let slot = t.find(key, hash);
    let b: u32;
    if (slot >= 0) {
      t.touch(<u32>slot, now);
      b = load<u32>(flowBackend + (<usize>slot << 2));
    } else {
      slot = t.findOrInsert(key, hash, now);
      const v = unchecked(vips[load<i32>(vipIndex + at)]);
      b = v.first + <u32>load<u16>(v.table + (<usize>(hash % tableSize) << 1));
      if (slot >= 0) {
        store<u32>(flowBackend + (<usize>slot << 2), b);
        created++;
      } else {
        lost++;
      }
    }
    const addr = <usize>load<u32>(frames + at);
    const mac = backendMac + <usize>b * 6;
    store<u32>(addr, load<u32>(mac));
    store<u16>(addr, load<u16>(mac, 4), 4);
    if (!toNext) setVerdict(load<i32>(packetIndex + at), outPort(unchecked(backendPort[b])));
    if (b < <u32>backendCounters.length) unchecked(backendCounters[b]).add();
  }
  t.expire(now, 64);
  if (m != 0) balanced.add(<u64>m);
  if (m != n) notVip.add(<u64>(n - m));
  if (created != 0) newFlows.add(created);
  if (lost != 0) untracked.add(lost);
  tracked.set(t.size);
}

// ---- state handover ----------------------------------------------------------

const STATE_KIND = 'lb';
const STATE_VERSION: u32 = 1;
const STATE_FLOW_BYTES: usize = FLOW_KEY_BYTES + 12;

// The backend names (u32 count; each u16 length + UTF-8), then the flows
// (u32 count; each its 40-byte key, u64 last seen, u32 backend: an index
// into those names).
export function netvm_state_export(): usize {
  const t = flows;
  if (t == null) return 0;
  const encoded = new Array<ArrayBuffer>(backendNames.length);
  let nameBytes: usize = 4;
  for (let i = 0; i < backendNames.length; i++) {
    encoded[i] = String.UTF8.encode(backendNames[i]);
    nameBytes += 2 + <usize>encoded[i].byteLength;
  }
  const w = new StateWriter(STATE_KIND, STATE_VERSION, nameBytes + 4 + <usize>t.size * STATE_FLOW_BYTES);
  w.u32(encoded.length);
  for (let i = 0; i < encoded.length; i++) {
    w.u16(<u16>encoded[i].byteLength);
    w.bytes(changetype<usize>(encoded[i]), <usize>encoded[i].byteLength);
  }
  w.u32(t.size);
  for (let slot = t.nextInUse(0); slot >= 0; slot = t.nextInUse(<u32>slot + 1)) {
    w.bytes(t.keyOf(<u32>slot), FLOW_KEY_BYTES);
    w.u64(t.lastSeen(<u32>slot));
    w.u32(load<u32>(flowBackend + (<usize>slot << 2)));
  }
  return w.finish();
}

export function netvm_state_import(ptr: usize, len: i32): i32 {
  const t = flows;
  if (t == null) {
    log(LogLevel.ERROR, 'state import before configure');
    return 1;
  }
  const r = openState(ptr, len, STATE_KIND, STATE_VERSION);
  if (r == null) return 1;
  // Their backend index -> ours (-1: we have no backend of that name).
  const nNames = r.u32();
  if (!r.ok() || <usize>nNames * 2 > r.remaining()) {
    log(LogLevel.ERROR, 'state cut short in its backend names');
    return 1;
  }
  const ours = new StaticArray<i32>(nNames);
  for (let i: u32 = 0; i < nNames; i++) {
    const n = <usize>r.u16();
    if (!r.ok() || n > r.remaining()) {
      log(LogLevel.ERROR, 'state cut short in its backend names');
      return 1;
    }
    const buf = heap.alloc(max(n, 1));
    r.bytes(buf, n);
    ours[i] = backendNames.indexOf(String.UTF8.decodeUnsafe(buf, n));
  }
  const n = r.records('flows', STATE_FLOW_BYTES);
  if (n < 0) return 1;
  for (let k: i64 = 0; k < n; k++) {
    r.bytes(key, FLOW_KEY_BYTES);
    const seen = r.u64();
    const theirs = r.u32();
    const b = theirs < nNames ? ours[theirs] : -1;
    if (b < 0) {
      importSkipped.add();
      continue;
    }
    const slot = t.findOrInsert(key, flowHash(key), seen);
    if (slot < 0 || !t.inserted) {
      importSkipped.add();
      continue;
    }
    store<u32>(flowBackend + (<usize>slot << 2), <u32>b);
    importedFlows.add();
  }
  tracked.set(t.size);
  return 0;
}
