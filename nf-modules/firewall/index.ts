// firewall: an ordered 5-tuple ACL with a default policy, and an optional
// stateful mode that lets the return traffic of allowed flows through.
//
// config:
//   default: allow | deny              (required) when no rule matches
//   non_ip: allow | deny               (allow) frames that are not IPv4/IPv6
//   stateful: bool                     (false)
//   flows: int                         (65536) flows tracked, stateful mode
//   timeout_s: number                  (120) idle time before a flow is forgotten
//   rules: [ { action: allow | deny,
//              proto: tcp | udp | icmp | icmpv6 | 0..255,     (any)
//              src: prefix, dst: prefix,                       (any; IPv4 or IPv6)
//              sport: port | "lo-hi", dport: port | "lo-hi" } ] (any; need tcp or udp)
//
// The first rule that matches decides. A rule with ports matches only packets
// whose TCP/UDP header is there (not non-first fragments). IP frames that do
// not parse as IP are dropped (metric malformed).
// Stateful: a flow is remembered when a rule allows its first packet (for TCP,
// a SYN without ACK); later packets of the flow, both ways, pass without the
// rules. TCP: until the responder's SYN+ACK, it may send only SYN+ACK or RST
// (anything else is dropped: invalid_tcp); an RST ends the flow.
// State handover (hot-swap): a stateful firewall's flows move to the new
// instance (imported_flows; beyond the new table's room they are left
// behind); a stateless one exports nothing and keeps nothing it is given.
//
// Messages (nf-modules/sdk/messages.ts) block traffic for a while, before the
// rules and the flow table (metric denied_by_block; gauge blocks):
//   from an NF (dpi's notify): 48 bytes, u32 1, u32 seconds, a canonical flow
//     key: that flow, both ways (up to 4096 flows);
//   from the operator, JSON: {"block": "198.51.100.0/24", "seconds": 60}
//     (seconds: 1 to 604800, 300 by default): packets from or to that prefix
//     (up to 64 prefixes); {"unblock": "198.51.100.0/24"} ends one early. The
//     answer says what was done, or {"error": ...}.
// Blocks move with the state on a hot-swap (from a stateless firewall too).
import {
  ConfigReader, JsonKind, JsonValue, itemPath, jsonError, jsonQuote, keyPath, parseJson,
} from '../sdk/json';
import { FlowTable } from '../sdk/flow-table';
import {
  META_IP_VERSION, META_L3, META_L4, META_L4_PROTO, loadBe16,
  DROP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, FLOW_KEY_BYTES, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP,
  LogLevel, Parsed, StateWriter, TCP_ACK, openState, TCP_RST, TCP_SYN, answer, configText, counter, flowHash, flowKey, gauge, hostNowNs, log,
  nowNs, parsePrefix, setVerdict,
} from '../sdk';
export * from '../sdk/exports';

// A rule: 64 bytes. Prefix addresses in network order, IPv4 in the first 4 bytes;
// an IPv4 prefix's mask as the same bytes loaded as a u32, so that a packet's
// address is compared as it lies in the packet, without a byte swap.
const RULE_BYTES: usize = 64;
const R_ALLOW = 0;      // u8 1 allow, 0 deny
const R_VERSION = 1;    // u8 0 any, 4, 6
const R_SRC_LEN = 4;    // u8
const R_DST_LEN = 5;    // u8
const R_SPORT = 8;      // u16 lo, u16 hi
const R_DPORT = 12;     // u16 lo, u16 hi
const R_SRC = 16;       // 16 bytes
const R_DST = 32;       // 16 bytes
const R_SRC4_MASK = 48; // u32
const R_DST4_MASK = 52; // u32
// What a packet's (IP version | L4 protocol << 8 | has ports << 16) must be to match, under
// a mask: the rule's version, protocol and ports tests in one (see matchRules).
const R_KEY_MASK = 56;  // u32
const R_KEY = 60;       // u32

// Flow state, per flow-table slot.
const TCP_AWAIT_SYNACK: u8 = 1;
const TCP_OPEN: u8 = 2;

let rules: usize = 0;
let nRules: i32 = 0;
let allowByDefault = false;
let allowNonIp = true;
let table: FlowTable | null = null;
let flowReverse: usize = 0; // u8 per slot: the initiator's direction bit
let flowTcp: usize = 0;     // u8 per slot: TCP state (0: not TCP)

const p = new Parsed();
const key: usize = memory.data(FLOW_KEY_BYTES, 8);

const allowedByRule = counter('allowed_by_rule');
const allowedByDefault = counter('allowed_by_default');
const allowedByState = counter('allowed_by_state');
const deniedByRule = counter('denied_by_rule');
const deniedByDefault = counter('denied_by_default');
const malformed = counter('malformed');
const invalidTcp = counter('invalid_tcp');
const untracked = counter('untracked');
const importedFlows = counter('imported_flows');
const flows = gauge('flows');
const deniedByBlock = counter('denied_by_block');
const blocksGauge = gauge('blocks');

// ---- configuration -------------------------------------------------------

function readPorts(r: ConfigReader, rule: JsonValue, name: string, path: string, at: usize): bool {
  const v = rule.get(name);
  store<u16>(at, 0);
  store<u16>(at, 0xffff, 2);
  if (v == null) return false;
  const where = keyPath(path, name);
  let lo: i32 = -1;
  let hi: i32 = -1;
  if (v.kind == JsonKind.Number) {
    const n = v.asNumber();
    if (n == Math.floor(n) && n >= 0 && n <= 65535) lo = hi = <i32>n;
  } else if (v.kind == JsonKind.String) {
    const parts = v.asString().split('-');
    if (parts.length == 2) {
      lo = I32.parseInt(parts[0]);
      hi = I32.parseInt(parts[1]);
      if (parts[0].length == 0 || parts[1].length == 0 || lo < 0 || hi > 65535 || lo > hi) lo = -1;
    }
  }
  if (lo < 0) {
    r.fail(where, 'must be a port (0-65535) or a range "lo-hi"');
    return false;
  }
  store<u16>(at, <u16>lo);
  store<u16>(at, <u16>hi, 2);
  return true;
}

function readProto(r: ConfigReader, rule: JsonValue, path: string): i32 {
  const v = rule.get('proto');
  if (v == null) return -1;
  if (v.kind == JsonKind.String) {
    const s = v.asString();
    if (s == 'tcp') return IPPROTO_TCP;
    if (s == 'udp') return IPPROTO_UDP;
    if (s == 'icmp') return IPPROTO_ICMP;
    if (s == 'icmpv6') return IPPROTO_ICMPV6;
    if (s == 'any') return -1;
  } else if (v.kind == JsonKind.Number) {
    const n = v.asNumber();
    if (n == Math.floor(n) && n >= 0 && n <= 255) return <i32>n;
  }
  r.fail(keyPath(path, 'proto'), 'must be tcp, udp, icmp, icmpv6, any or 0-255');
  return -1;
}

/** Reads src or dst into the rule; returns the prefix's IP version, 0 if absent. */
function readPrefix(r: ConfigReader, rule: JsonValue, name: string, path: string, at: usize, lenAt: usize): i32 {
  const text = r.string(rule, name, path, '');
  if (text.length == 0) {
    store<u8>(lenAt, 0);
    return 0;
  }
  const parsed = parsePrefix(text, at);
  if (parsed < 0) {
    r.fail(keyPath(path, name), `'${text}' is not an IPv4 or IPv6 prefix (like 10.0.0.0/8 or 2001:db8::/32)`);
    return 0;
  }
  store<u8>(lenAt, <u8>(parsed & 0xff));
  return parsed >> 8;
}

/** The mask of an IPv4 prefix of len bits, as its network-order bytes load into a u32. */
function mask4(len: u8): u32 {
  return len == 0 ? 0 : bswap<u32>(<u32>-1 << (32 - <u32>min(len, 32)));
}

function readRule(r: ConfigReader, rule: JsonValue, path: string, at: usize): void {
  if (!r.object(rule, path)) return;
  r.unknownKeys(rule, path, ['action', 'proto', 'src', 'dst', 'sport', 'dport']);
  store<u8>(at, <u8>r.choice(rule, 'action', path, ['deny', 'allow']), R_ALLOW);
  const proto = readProto(r, rule, path);
  const srcVersion = readPrefix(r, rule, 'src', path, at + R_SRC, at + R_SRC_LEN);
  const dstVersion = readPrefix(r, rule, 'dst', path, at + R_DST, at + R_DST_LEN);
  if (srcVersion != 0 && dstVersion != 0 && srcVersion != dstVersion) {
    r.fail(path, 'src and dst are of different IP versions');
  }
  store<u8>(at, <u8>max(srcVersion, dstVersion), R_VERSION);
  store<u32>(at, mask4(load<u8>(at, R_SRC_LEN)), R_SRC4_MASK);
  store<u32>(at, mask4(load<u8>(at, R_DST_LEN)), R_DST4_MASK);
  const sport = readPorts(r, rule, 'sport', path, at + R_SPORT);
  const dport = readPorts(r, rule, 'dport', path, at + R_DPORT);
  if ((sport || dport) && proto != IPPROTO_TCP && proto != IPPROTO_UDP) {
    r.fail(path, 'sport and dport need proto tcp or udp');
  }
  const version = <u32>load<u8>(at, R_VERSION);
  const ports: u32 = sport || dport ? 1 : 0;
  store<u32>(at, (version != 0 ? 0xff : 0) | (proto >= 0 ? 0xff00 : 0) | ports << 16, R_KEY_MASK);
  store<u32>(at, version | (proto >= 0 ? <u32>proto << 8 : 0) | ports << 16, R_KEY);
}


export function netvm_configure(ptr: usize, len: i32): i32 {
  const root = parseJson(configText(ptr, len));
  if (root == null) {
    log(LogLevel.ERROR, `config: ${jsonError()}`);
    return 1;
  }
  const r = new ConfigReader(root);
  r.object(root, '');
  r.unknownKeys(root, '', ['default', 'non_ip', 'stateful', 'flows', 'timeout_s', 'rules']);
  allowByDefault = r.choice(root, 'default', '', ['deny', 'allow']) == 1;
  allowNonIp = r.choice(root, 'non_ip', '', ['deny', 'allow'], 1) == 1;
  const stateful = r.bool(root, 'stateful', '', 0);
  const capacity = <u32>r.integer(root, 'flows', '', 1, 8388608, 65536);
  const timeout = r.number(root, 'timeout_s', '', 0.001, 86400 * 7, 120);
  const list = r.array(root, 'rules', '', false);
  const count = list == null ? 0 : list.length;
  rules = heap.alloc(<usize>max(count, 1) * RULE_BYTES);
  memory.fill(rules, 0, <usize>max(count, 1) * RULE_BYTES);
  for (let i = 0; i < count && r.ok(); i++) {
    readRule(r, list!.at(i)!, itemPath('rules', i), rules + <usize>i * RULE_BYTES);
  }
  if (!r.ok()) {
    log(LogLevel.ERROR, `config: ${r.error()}`);
    return 1;
  }
  nRules = count;
  if (stateful) {
    table = new FlowTable(capacity, <u64>(timeout * 1e9));
    const slots = table!.capacity;
    flowReverse = heap.alloc(slots);
    flowTcp = heap.alloc(slots);
  }
  return 0;
}

// ---- per packet ------------------------------------------------------------

/** True when the first len bits at a equal those at prefix (both network order). */
@inline function prefixMatch(a: usize, prefix: usize, len: u32): bool {
  if (len == 0) return true;
  if (len <= 64) {
    const mask = len == 64 ? <u64>-1 : ~(<u64>-1 >> len);
    return ((bswap<u64>(load<u64>(a)) ^ bswap<u64>(load<u64>(prefix))) & mask) == 0;
  }
  if (load<u64>(a) != load<u64>(prefix)) return false;
  const rest = len - 64;
  const mask = rest == 64 ? <u64>-1 : ~(<u64>-1 >> rest);
  return ((bswap<u64>(load<u64>(a, 8)) ^ bswap<u64>(load<u64>(prefix, 8))) & mask) == 0;
}

/** The first rule matching p: 1 allow, 0 deny, -1 none. Inlined, as byRules is: Binaryen
 *  inlines no function with a loop, nor one called from two places, and V8 (11.3, Node 20)
 *  inlines no Wasm call, so each was a call a packet, with its frame, stack check and spills. */
@inline function matchRules(): i32 {
  // What the rules look at, read from the parse and the packet once: V8 hoists no load from
  // linear memory, and each of Parsed's getters loads its object's fields again.
  const meta = p.meta;
  const ipVersion = load<u8>(meta, META_IP_VERSION);
  const l4Proto = load<u8>(meta, META_L4_PROTO);
  const ip = p.addr + <usize>load<u16>(meta, META_L3);
  const src = ip + (ipVersion == 4 ? 12 : 8);
  const dst = ip + (ipVersion == 4 ? 16 : 24);
  const src4 = ipVersion == 4 ? load<u32>(src) : 0;
  const dst4 = ipVersion == 4 ? load<u32>(dst) : 0;
  const l4Off = <usize>load<u16>(meta, META_L4);
  const l4 = p.addr + l4Off;
  const hasPorts = l4Off != 0 && (l4Proto == IPPROTO_TCP || l4Proto == IPPROTO_UDP);
  const sp = hasPorts ? loadBe16(l4) : 0;
  const dp = hasPorts ? loadBe16(l4 + 2) : 0;
  const key = <u32>ipVersion | <u32>l4Proto << 8 | (hasPorts ? 0x10000 : 0);
  for (let i = 0; i < nRules; i++) {
    const r = rules + <usize>i * RULE_BYTES;
    if ((key & load<u32>(r, R_KEY_MASK)) != load<u32>(r, R_KEY)) continue;
    const version = load<u8>(r, R_VERSION);
    if (version == 4) {
      const differ = ((src4 ^ load<u32>(r, R_SRC)) & load<u32>(r, R_SRC4_MASK)) | ((dst4 ^ load<u32>(r, R_DST)) & load<u32>(r, R_DST4_MASK));
      if (differ != 0) continue;
    } else if (version == 6) {
      if (!prefixMatch(src, r + R_SRC, load<u8>(r, R_SRC_LEN))) continue;
      if (!prefixMatch(dst, r + R_DST, load<u8>(r, R_DST_LEN))) continue;
    }
    // Each range as lo | hi << 16 (0-65535 when the rule has none): in range when
    // port - lo, wrapping below lo, is at most hi - lo.
    const sr = load<u32>(r, R_SPORT);
    const dr = load<u32>(r, R_DPORT);
    if (sp - (sr & 0xffff) > (sr >> 16) - (sr & 0xffff) || dp - (dr & 0xffff) > (dr >> 16) - (dr & 0xffff)) continue;
    return load<u8>(r, R_ALLOW);
  }
  return -1;
}

/** The ACL's decision for p, counted. */
@inline function byRules(): bool {
  const m = matchRules();
  if (m == 1) allowedByRule.add();
  else if (m == 0) deniedByRule.add();
  else if (allowByDefault) allowedByDefault.add();
  else deniedByDefault.add();
  return m == 1 || (m < 0 && allowByDefault);
}

/** The stateful decision: known flows pass (TCP checked), new ones by the rules. */
function byState(t: FlowTable, now: u64): bool {
  const reverse = flowKey(p, key);
  const hash = flowHash(key);
  const isTcp = p.l4Proto == IPPROTO_TCP && p.l4 != 0;
  const slot = t.find(key, hash);
  if (slot >= 0) {
    const s = <usize>slot;
    const fromInitiator = (load<u8>(flowReverse + s) != 0) == reverse;
    if (isTcp) {
      const flags = p.tcpFlags;
      if (load<u8>(flowTcp + s) == TCP_AWAIT_SYNACK && !fromInitiator) {
        if ((flags & TCP_RST) == 0 && (flags & (TCP_SYN | TCP_ACK)) != (TCP_SYN | TCP_ACK)) {
          invalidTcp.add();
          return false;
        }
        if ((flags & TCP_RST) == 0) store<u8>(flowTcp + s, TCP_OPEN);
      }
      if (flags & TCP_RST) {
        t.removeSlot(<u32>slot);
        allowedByState.add();
        return true;
      }
    }
    t.touch(<u32>slot, now);
    allowedByState.add();
    return true;
  }
  if (!byRules()) return false;
  // A TCP flow is tracked from its opening SYN only.
  if (isTcp && (p.tcpFlags & (TCP_SYN | TCP_ACK | TCP_RST)) != TCP_SYN) return true;
  const created = t.findOrInsert(key, hash, now);
  if (created < 0) {
    untracked.add();
    return true;
  }
  store<u8>(flowReverse + <usize>created, reverse ? 1 : 0);
  store<u8>(flowTcp + <usize>created, isTcp ? TCP_AWAIT_SYNACK : 0);
  return true;
}

// ---- blocks (messages) -------------------------------------------------------

const BLOCK_FLOW: u32 = 1;
const FLOW_MESSAGE_BYTES: i32 = 8 + <i32>FLOW_KEY_BYTES;
const MAX_BLOCKED_FLOWS: u32 = 4096;
const MAX_SECONDS: f64 = 86400 * 7;
// A blocked prefix: u8 IP version, u8 length, 6 bytes pad, u64 until (ns), 16 bytes address.
const MAX_BLOCKED_PREFIXES = 64;
const PREFIX_BYTES: usize = 32;
const blockedPrefixes: usize = memory.data(<i32>PREFIX_BYTES * MAX_BLOCKED_PREFIXES, 8);
let nPrefixes = 0;
let blockedFlows: FlowTable | null = null;
let blockedUntil: usize = 0; // u64 per slot of blockedFlows
/** Prefixes and flows blocked: the one load a packet costs while there are none. */
let nBlocks: i32 = 0;
const blockKey: usize = memory.data(FLOW_KEY_BYTES, 8);
const prefixAddr: usize = memory.data(16, 8); // a blocked prefix being read

function countBlocks(): void {
  const f = blockedFlows;
  nBlocks = nPrefixes + (f != null ? <i32>f.size : 0);
  blocksGauge.set(nBlocks);
}

function removePrefix(i: i32): void {
  nPrefixes--;
  memory.copy(blockedPrefixes + <usize>i * PREFIX_BYTES, blockedPrefixes + <usize>nPrefixes * PREFIX_BYTES, PREFIX_BYTES);
}

/** Whether p is blocked (a block whose time is up is taken away). */
function isBlocked(now: u64): bool {
  const meta = p.meta;
  const ipVersion = load<u8>(meta, META_IP_VERSION);
  const ip = p.addr + <usize>load<u16>(meta, META_L3);
  const src = ip + (ipVersion == 4 ? 12 : 8);
  const dst = ip + (ipVersion == 4 ? 16 : 24);
  let blocked = false;
  for (let i = 0; i < nPrefixes && !blocked; i++) {
    const b = blockedPrefixes + <usize>i * PREFIX_BYTES;
    if (load<u64>(b, 8) <= now) {
      removePrefix(i--);
      countBlocks();
      continue;
    }
    if (load<u8>(b) != ipVersion) continue;
    const len = <u32>load<u8>(b, 1);
    blocked = prefixMatch(src, b + 16, len) || prefixMatch(dst, b + 16, len);
  }
  const f = blockedFlows;
  if (!blocked && f != null && f.size > 0) {
    flowKey(p, blockKey);
    const slot = f.find(blockKey, flowHash(blockKey));
    if (slot >= 0) {
      blocked = load<u64>(blockedUntil + (<usize>slot << 3)) > now;
      if (!blocked) {
        f.removeSlot(<u32>slot);
        countBlocks();
      }
    }
  }
  return blocked;
}

/** Blocks the flow of the canonical key at key until `until`; false when the table is full. */
function blockFlow(key: usize, until: u64): bool {
  if (blockedFlows == null) {
    blockedFlows = new FlowTable(MAX_BLOCKED_FLOWS, <u64>(MAX_SECONDS * 1e9));
    blockedUntil = heap.alloc(<usize>blockedFlows!.capacity << 3);
  }
  const f = blockedFlows!;
  const slot = f.findOrInsert(key, flowHash(key), until);
  if (slot < 0) return false;
  store<u64>(blockedUntil + (<usize>slot << 3), until);
  countBlocks();
  return true;
}

/** Blocks (or with seconds < 0 unblocks) a prefix; what to answer. */
function blockPrefix(text: string, seconds: f64): string {
  const at = prefixAddr;
  const parsed = parsePrefix(text, at);
  if (parsed < 0) return `{"error":${jsonQuote(`'${text}' is not an IPv4 or IPv6 prefix`)}}`;
  for (let i = 0; i < nPrefixes; i++) {
    const b = blockedPrefixes + <usize>i * PREFIX_BYTES;
    if (load<u8>(b) == <u8>(parsed >> 8) && load<u8>(b, 1) == <u8>parsed && memory.compare(b + 16, at, 16) == 0) removePrefix(i--);
  }
  if (seconds >= 0) {
    if (nPrefixes == MAX_BLOCKED_PREFIXES) {
      countBlocks();
      return `{"error":"${MAX_BLOCKED_PREFIXES} prefixes are blocked already"}`;
    }
    const b = blockedPrefixes + <usize>nPrefixes * PREFIX_BYTES;
    nPrefixes++;
    store<u8>(b, <u8>(parsed >> 8));
    store<u8>(b, <u8>parsed, 1);
    store<u64>(b, <u64>hostNowNs() + <u64>(seconds * 1e9), 8);
    memory.copy(b + 16, at, 16);
  }
  countBlocks();
  return seconds >= 0 ? `{"blocked":${jsonQuote(text)},"seconds":${seconds}}` : `{"unblocked":${jsonQuote(text)}}`;
}

export function netvm_message(ptr: usize, len: i32, from: i32): void {
  if (from >= 0) {
    // From an NF of the chain: a flow message; anything else is not for us.
    if (len == FLOW_MESSAGE_BYTES && load<u32>(ptr) == BLOCK_FLOW) {
      blockFlow(ptr + 8, <u64>hostNowNs() + <u64>min(load<u32>(ptr, 4), <u32>MAX_SECONDS) * 1_000_000_000);
    }
    return;
  }
  const r = new ConfigReader(parseJson(String.UTF8.decodeUnsafe(ptr, <usize>len)));
  const root = r.root;
  r.object(root, '');
  r.unknownKeys(root, '', ['block', 'unblock', 'seconds']);
  const block = r.string(root, 'block', '', '');
  const unblock = r.string(root, 'unblock', '', '');
  const seconds = r.number(root, 'seconds', '', 1, MAX_SECONDS, 300);
  if (r.ok() && (block.length == 0) == (unblock.length == 0)) r.fail('', 'needs one of block or unblock');
  if (!r.ok()) {
    answer(`{"error":${jsonQuote(r.error())}}`);
    return;
  }
  answer(block.length > 0 ? blockPrefix(block, seconds) : blockPrefix(unblock, -1));
}

export function netvm_process(n: i32): void {
  const t = table;
  const now = t != null || nBlocks != 0 ? <u64>nowNs() : 0;
  for (let i = 0; i < n; i++) {
    p.at(i);
    let allow: bool;
    if (p.ipVersion == 0) {
      const ip = p.etherType == ETHERTYPE_IPV4 || p.etherType == ETHERTYPE_IPV6;
      if (ip) malformed.add();
      allow = !ip && allowNonIp;
    } else if (nBlocks != 0 && isBlocked(now)) {
      deniedByBlock.add();
      allow = false;
    } else {
      allow = t != null ? byState(t, now) : byRules();
    }
    if (!allow) setVerdict(i, DROP);
  }
  if (t != null) {
    t.expire(now, 64);
    flows.set(t.size);
  }
}

// ---- state handover ----------------------------------------------------------

const STATE_KIND = 'firewall';
// Format 2 (format 1 had the flows alone, and is still read): u32 count, the flows (a 40-byte
// key, u64 last seen (ns), u8 the initiator's direction bit, u8 TCP state); u32 count, the
// blocked prefixes (u8 IP version, u8 length, u64 until, 16-byte address); u32 count, the
// blocked flows (a 40-byte key, u64 until). Times are the host's monotonic clock.
const STATE_VERSION: u32 = 2;
const STATE_RECORD_BYTES: usize = FLOW_KEY_BYTES + 10;
const STATE_PREFIX_BYTES: usize = 26;
const STATE_BLOCKED_FLOW_BYTES: usize = FLOW_KEY_BYTES + 8;

export function netvm_state_export(): usize {
  const t = table;
  const f = blockedFlows;
  if (t == null && nBlocks == 0) return 0;
  const nFlows: u32 = t != null ? t.size : 0;
  const nBlocked: u32 = f != null ? f.size : 0;
  const w = new StateWriter(STATE_KIND, STATE_VERSION,
    12 + <usize>nFlows * STATE_RECORD_BYTES + <usize>nPrefixes * STATE_PREFIX_BYTES + <usize>nBlocked * STATE_BLOCKED_FLOW_BYTES);
  w.u32(nFlows);
  if (t != null) {
    for (let slot = t.nextInUse(0); slot >= 0; slot = t.nextInUse(<u32>slot + 1)) {
      w.bytes(t.keyOf(<u32>slot), FLOW_KEY_BYTES);
      w.u64(t.lastSeen(<u32>slot));
      w.u8(load<u8>(flowReverse + <usize>slot));
      w.u8(load<u8>(flowTcp + <usize>slot));
    }
  }
  w.u32(nPrefixes);
  for (let i = 0; i < nPrefixes; i++) {
    const b = blockedPrefixes + <usize>i * PREFIX_BYTES;
    w.u8(load<u8>(b));
    w.u8(load<u8>(b, 1));
    w.u64(load<u64>(b, 8));
    w.bytes(b + 16, 16);
  }
  w.u32(nBlocked);
  if (f != null) {
    for (let slot = f.nextInUse(0); slot >= 0; slot = f.nextInUse(<u32>slot + 1)) {
      w.bytes(f.keyOf(<u32>slot), FLOW_KEY_BYTES);
      w.u64(load<u64>(blockedUntil + (<usize>slot << 3)));
    }
  }
  return w.finish();
}

export function netvm_state_import(ptr: usize, len: i32): i32 {
  const r = openState(ptr, len, STATE_KIND, STATE_VERSION, 1);
  if (r == null) return 1;
  const n = r.version == 1 ? r.records('flows', STATE_RECORD_BYTES) : r.section('flows', STATE_RECORD_BYTES);
  if (n < 0) return 1;
  const t = table;
  if (t == null && n > 0) log(LogLevel.WARN, `stateless: the ${n} flows handed over are not kept`);
  for (let k: i64 = 0; k < n; k++) {
    r.bytes(key, FLOW_KEY_BYTES);
    const seen = r.u64();
    const reverse = r.u8();
    const tcp = r.u8();
    if (t == null) continue;
    const slot = t.findOrInsert(key, flowHash(key), seen);
    if (slot < 0 || !t.inserted) continue;
    store<u8>(flowReverse + <usize>slot, reverse != 0 ? 1 : 0);
    store<u8>(flowTcp + <usize>slot, min(tcp, TCP_OPEN));
    importedFlows.add();
  }
  if (t != null) flows.set(t.size);
  if (r.version == 1) return 0;
  const prefixes = r.section('blocked prefixes', STATE_PREFIX_BYTES);
  if (prefixes < 0) return 1;
  for (let k: i64 = 0; k < prefixes; k++) {
    const version = r.u8();
    const len = r.u8();
    const until = r.u64();
    r.bytes(blockKey, 16);
    if (nPrefixes == MAX_BLOCKED_PREFIXES) continue;
    const b = blockedPrefixes + <usize>nPrefixes * PREFIX_BYTES;
    nPrefixes++;
    store<u8>(b, version);
    store<u8>(b, len, 1);
    store<u64>(b, until, 8);
    memory.copy(b + 16, blockKey, 16);
  }
  const blocked = r.records('blocked flows', STATE_BLOCKED_FLOW_BYTES);
  if (blocked < 0) return 1;
  for (let k: i64 = 0; k < blocked; k++) {
    r.bytes(blockKey, FLOW_KEY_BYTES);
    blockFlow(blockKey, r.u64());
  }
  countBlocks();
  return 0;
}
