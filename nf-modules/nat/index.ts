// nat: NAPT (source NAT) for IPv4. Connections from the inside prefix to
// anywhere else leave from a public address, each with a public port of its
// own; the replies from the far endpoint come back to the inside host and port.
//
// config:
//   inside: "10.0.0.0/8"          (required) the private IPv4 prefix
//   public_ip: "203.0.113.1"      (required) the address flows leave from, or a pool of them as a
//              or "203.0.113.0/28" prefix of /24 to /32 (each address holds the whole port
//                                 range; about 0.8 MiB of tables each); none inside `inside`
//   ports: "1024-65535"           ("1024-65535") the public ports to allocate, per protocol
//   flows: int                    (65536) mappings held at once (the flow table's capacity)
//   timeout_s: number             (120) idle time before a mapping expires; a TCP mapping
//                                 that has seen FIN both ways expires after min(10, timeout_s)
// Unknown keys are refused.
//
// Outbound (source inside, destination not inside): TCP and UDP by their
// 5-tuple, ICMP echo requests by (source, destination, identifier). A new
// flow leaves from the pool's address number (inside address mod pool size),
// so an inside host keeps one public address (RFC 4787's paired pooling),
// unless that address has no free port for the protocol: then the next
// address that has one, in turn. It gets that address's next free port (a
// rotating cursor per address and protocol: the first free port after the
// last one given, wrapping), so no two live flows share (public address,
// port, protocol). The source address and port (ICMP: the
// identifier) are rewritten and the IPv4 header and L4 checksums updated
// incrementally (RFC 1624; a UDP checksum of 0, "none", stays 0).
// Inbound (destination a public address): TCP/UDP by (address, protocol, destination port),
// ICMP echo replies by identifier, accepted only from the flow's far endpoint
// (TCP/UDP: address and port; ICMP: address); the destination is rewritten
// back to the inside address and port.
// A mapping ends when it expires (the flow table's sweep; its slot comes back
// on the table's freed-slot ring, drained every burst, and its port is freed)
// or at once when its TCP flow sees an RST (either way; the RST itself is
// translated).
//
// Dropped, each counted: inbound with no mapping, or not from the mapping's
// far endpoint (no_mapping); a new flow when the range has no free port
// (port_exhausted) or the flow table is full (table_full); TCP/UDP packets to
// translate whose L4 header is not whole or that are non-first fragments
// (untranslatable: they cannot be mapped without reassembly).
// Passed unchanged: non-IP, IPv6, inside to inside, packets neither from
// inside nor to public_ip, other protocols (GRE, ...), ICMP other than echo
// request out / echo reply in (ICMP errors are not translated).
// State handover (hot-swap): the mappings move to the new instance with their
// public addresses and ports, inside and far endpoints, FIN state and idle
// times; a mapping whose public address or port is outside the new pool or
// range, or whose inside address is not inside the new prefix, is left behind
// (import_skipped).
// Known limits: no hairpinning (inside to public_ip is translated outbound
// like any other destination); one timeout for TCP and UDP.
import { ConfigReader, parseJson } from '../sdk/json';
import { FlowTable, hashKey16 } from '../sdk/flow-table';
import {
  DROP, MAX_BURST, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, LogLevel, META_IP_VERSION, META_L3, META_L4,
  META_L4_PROTO, StateWriter, TCP_FIN, TCP_RST, checksumUpdate16, checksumUpdate32, configText, openState, counter, gauge,
  l4LenOf, log, nowNs, packetAddr, packetMeta, parseIpv4, parsePrefix, setVerdict,
} from '../sdk';
export * from '../sdk/exports';

const CLOSING_TIMEOUT_S: f64 = 10;
const SWEEP_BUDGET: u32 = 256;
const ICMP_ECHO_REPLY: u8 = 0;
const ICMP_ECHO_REQUEST: u8 = 8;

// Protocol index for the per-protocol port pools.
const PI_TCP: u32 = 0;
const PI_UDP: u32 = 1;
const PI_ICMP: u32 = 2;
const N_PROTOS: u32 = 3;
const BITMAP_BYTES: usize = 65536 / 8;

let insideNet: u32 = 0;  // host order
let insideMask: u32 = 0;
let publicBase: u32 = 0; // host order: the pool's first address
let publicCount: u32 = 1;
let portLo: u32 = 1024;
let portHi: u32 = 65535;
let table: FlowTable | null = null;
let timeoutNs: u64 = 0;
let closingNs: u64 = 0;
let seed: u64 = 0;
// The per-packet path works on addresses and ports as they load from a packet,
// unswapped (Wasm has no byte swap): the inside prefix and the pool's addresses are
// kept in that order here, as are a mapping's key and public port.
let insideNetBe: u32 = 0;
let insideMaskBe: u32 = 0;
let publicBe: usize = 0; // u32 per pool address

// A mapping is its flow-table record, one cache line: the key (see key0 and
// key1) holds the inside and far endpoints, the table's 4 bytes of the
// caller's (userOf) the rest, so that a lookup reads one line beside its bucket.
const K_IN_ADDR = 0;   // u32 inside address, as it loads
const K_REM_ADDR = 4;  // u32 far address, as it loads
const K_IN_PORT = 8;   // u16 inside port (ICMP: identifier), as it loads
const K_REM_PORT = 10; // u16 far port (ICMP: 0), as it loads
const U_PORT = 0;      // u16 public port (ICMP: identifier), as it is stored in a packet
const U_IDX = 2;       // u8 public address, as its number in the pool
const U_META = 3;      // u8 protocol index << META_PI_SHIFT | FIN seen (1 out, 2 in)
const META_PI_SHIFT: u8 = 2;
const META_FIN: u8 = 3;

// Per port pool (public address number * N_PROTOS + protocol index): free
// ports (bit set = free), slot + 1 by public port, cursor, free count.
let freeBits: usize = 0;
let portSlot: usize = 0;
let cursor: usize = 0;    // u32 per pool
let freeCount: usize = 0; // u32 per pool

// What warmBurst found of each packet of the burst: the key's k0, k1 and hash of
// an outbound packet NAT translates (k1 NO_KEY for any other), and where its IP
// and L4 headers are; the outbound hashes, in a row.
const NO_KEY: u64 = <u64>-1; // no key's k1: a protocol takes 8 bits
const burstK0: usize = memory.data(MAX_BURST * 8, 64);
const burstK1: usize = memory.data(MAX_BURST * 8, 64);
const burstHash: usize = memory.data(MAX_BURST * 4, 64);
const burstIp: usize = memory.data(MAX_BURST * 4, 64);
const burstL4: usize = memory.data(MAX_BURST * 4, 64);
const outHashes: usize = memory.data(MAX_BURST * 4, 64);
let warmSink: u32 = 0; // what warmBurst loaded, so its loads stay
const prefixBuf: usize = memory.data(16, 8);

const translatedOut = counter('translated_out');
const translatedIn = counter('translated_in');
const newMappings = counter('new_mappings');
const expiredMappings = counter('expired_mappings');
const closedMappings = counter('closed_mappings');
const noMapping = counter('no_mapping');
const portExhausted = counter('port_exhausted');
const tableFull = counter('table_full');
const untranslatable = counter('untranslatable');
const importedMappings = counter('imported_mappings');
const importSkipped = counter('import_skipped');
const mappings = gauge('mappings');

// ---- configuration -------------------------------------------------------

/** A decimal number of 1 to 5 digits, or -1. */
function portNumber(s: string): i32 {
  if (s.length == 0 || s.length > 5) return -1;
  let v = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
    v = v * 10 + (c - 48);
  }
  return v;
}

export function netvm_configure(ptr: usize, len: i32): i32 {
  const r = new ConfigReader(parseJson(configText(ptr, len)));
  const root = r.root;
  r.object(root, '');
  r.unknownKeys(root, '', ['inside', 'public_ip', 'ports', 'flows', 'timeout_s']);
  const insideText = r.string(root, 'inside', '');
  let net: u32 = 0, mask: u32 = 0;
  if (r.ok()) {
    const parsed = parsePrefix(insideText, prefixBuf);
    if (parsed < 0 || parsed >> 8 != 4) {
      r.fail('inside', `'${insideText}' is not an IPv4 prefix (like 10.0.0.0/8)`);
    } else {
      const plen = parsed & 0xff;
      mask = plen == 0 ? 0 : <u32>0xffffffff << (32 - plen);
      net = bswap<u32>(load<u32>(prefixBuf));
    }
  }
  const publicText = r.string(root, 'public_ip', '');
  let pub: u32 = 0, count: u32 = 1;
  if (r.ok()) {
    const parsed = publicText.includes('/') ? parsePrefix(publicText, prefixBuf) : -1;
    const v = parseIpv4(publicText);
    if (parsed >= 0 && parsed >> 8 == 4 && (parsed & 0xff) >= 24) {
      pub = bswap<u32>(load<u32>(prefixBuf));
      count = <u32>1 << (32 - (parsed & 0xff));
    } else if (v >= 0) {
      pub = <u32>v;
    } else {
      r.fail('public_ip', `'${publicText}' is not an IPv4 address or a prefix of /24 to /32 (like 203.0.113.1 or 203.0.113.0/28)`);
    }
    // A pool is a prefix and inside is one: they overlap if either holds the other's first address.
    const poolMask = count == 1 ? <u32>0xffffffff : ~(count - 1);
    if (r.ok() && ((pub & mask) == net || (net & poolMask) == pub)) r.fail('public_ip', `${publicText} overlaps ${insideText}`);
  }
  const portsText = r.string(root, 'ports', '', '1024-65535');
  let lo: i32 = -1, hi: i32 = -1;
  if (r.ok()) {
    const dash = portsText.indexOf('-');
    if (dash < 0) {
      lo = hi = portNumber(portsText);
    } else {
      lo = portNumber(portsText.substring(0, dash));
      hi = portNumber(portsText.substring(dash + 1));
    }
    if (lo < 1 || hi < 1 || lo > 65535 || hi > 65535 || lo > hi) r.fail('ports', `'${portsText}' is not a port range "lo-hi" within 1-65535`);
  }
  const capacity = <u32>r.integer(root, 'flows', '', 1, 8388608, 65536);
  const timeout = r.number(root, 'timeout_s', '', 0.001, 86400 * 7, 120);
  if (!r.ok()) {
    log(LogLevel.ERROR, `config: ${r.error()}`);
    return 1;
  }
  insideNet = net;
  insideMask = mask;
  insideNetBe = bswap<u32>(net);
  insideMaskBe = bswap<u32>(mask);
  publicBase = pub;
  publicCount = count;
  publicBe = heap.alloc(<usize>count << 2);
  for (let k: u32 = 0; k < count; k++) store<u32>(publicBe + (<usize>k << 2), bswap<u32>(pub + k));
  portLo = <u32>lo;
  portHi = <u32>hi;
  timeoutNs = <u64>(timeout * 1e9);
  closingNs = <u64>(min(timeout, CLOSING_TIMEOUT_S) * 1e9);
  seed = <u64>nowNs() * 0x9e3779b97f4a7c15;
  const t = new FlowTable(capacity, timeoutNs, SWEEP_BUDGET);
  const pools = <usize>(count * N_PROTOS);
  freeBits = heap.alloc(BITMAP_BYTES * pools);
  memory.fill(freeBits, 0, BITMAP_BYTES * pools);
  portSlot = heap.alloc(65536 * 4 * pools);
  memory.fill(portSlot, 0, 65536 * 4 * pools);
  cursor = heap.alloc(pools << 2);
  freeCount = heap.alloc(pools << 2);
  for (let pool: usize = 0; pool < pools; pool++) {
    const bm = freeBits + pool * BITMAP_BYTES;
    for (let port = portLo; port <= portHi; port++) {
      store<u8>(bm + (port >> 3), load<u8>(bm + (port >> 3)) | <u8>(<u32>1 << (port & 7)));
    }
    store<u32>(cursor + (pool << 2), portLo);
    store<u32>(freeCount + (pool << 2), portHi - portLo + 1);
  }
  table = t;
  return 0;
}

// ---- ports -----------------------------------------------------------------

@inline function poolOf(idx: u32, pi: u32): usize {
  return <usize>(idx * N_PROTOS + pi);
}

/** The first free port of a pool at or after its cursor (wrapping), taken; -1 when none. */
function allocPort(pool: usize): i32 {
  const free = freeCount + (pool << 2);
  if (load<u32>(free) == 0) return -1;
  const bm = freeBits + pool * BITMAP_BYTES;
  const start = load<u32>(cursor + (pool << 2));
  let w = start >> 6;
  let word = load<u64>(bm + (<usize>w << 3)) & (<u64>-1 << (start & 63));
  for (let k = 0; k <= 1024; k++) {
    if (word != 0) {
      const port = (w << 6) + <u32>ctz<u64>(word);
      const at = bm + (<usize>w << 3);
      store<u64>(at, load<u64>(at) & ~(<u64>1 << (port & 63)));
      store<u32>(cursor + (pool << 2), port >= portHi ? portLo : port + 1);
      store<u32>(free, load<u32>(free) - 1);
      return <i32>port;
    }
    w = (w + 1) & 1023;
    word = load<u64>(bm + (<usize>w << 3));
  }
  return -1;
}

// The public address number and port allocate() gave.
let allocIdx: u32 = 0;
let allocPortNo: u32 = 0;

/** A public port for a new flow of inside address inAddr: from its paired address, or the
 *  next one with a free port; false when every address is out of ports for the protocol. */
function allocate(pi: u32, inAddr: u32): bool {
  const first = inAddr % publicCount;
  for (let k: u32 = 0; k < publicCount; k++) {
    let idx = first + k;
    if (idx >= publicCount) idx -= publicCount;
    const port = allocPort(poolOf(idx, pi));
    if (port >= 0) {
      allocIdx = idx;
      allocPortNo = <u32>port;
      return true;
    }
  }
  return false;
}

/** A 16-bit value with its two bytes swapped: a port between host order and as it loads. */
@inline function swap16(x: u32): u32 {
  return <u32>bswap<u16>(<u16>x);
}

@inline function slotOfPort(pool: usize, port: u32): usize {
  return portSlot + ((pool << 16) + <usize>port) * 4;
}

/** A mapping's 4 bytes (U_*) as one word. */
@inline function userWord(port: u32, idx: u32, pi: u32, fin: u8): u32 {
  return port | idx << 16 | (pi << META_PI_SHIFT | <u32>fin) << 24;
}

/** Frees the public port a slot holds (its record is still the flow's). */
function releaseSlot(t: FlowTable, slot: u32): void {
  const user = t.userOf(slot);
  const pool = poolOf(<u32>load<u8>(user, U_IDX), <u32>(load<u8>(user, U_META) >> META_PI_SHIFT));
  const port = swap16(<u32>load<u16>(user, U_PORT));
  const at = slotOfPort(pool, port);
  if (load<u32>(at) != slot + 1) return; // not holding it (never happens)
  store<u32>(at, 0);
  const bm = freeBits + pool * BITMAP_BYTES + (port >> 3);
  store<u8>(bm, load<u8>(bm) | <u8>(<u32>1 << (port & 7)));
  const free = freeCount + (pool << 2);
  store<u32>(free, load<u32>(free) + 1);
}

/** Releases the ports of the slots the table freed (expired or reclaimed). */
function drainFreed(t: FlowTable): void {
  for (let s = t.popFreed(); s >= 0; s = t.popFreed()) {
    releaseSlot(t, <u32>s);
    expiredMappings.add();
  }
}

// ---- per packet ------------------------------------------------------------

@inline function l4ChecksumAt(proto: u8): u32 {
  return proto == IPPROTO_TCP ? 16 : proto == IPPROTO_UDP ? 6 : 2;
}

/** Rewrites the address at ip + addrOff and the port (identifier) at l4 + portOff (both
 *  given as they are stored in a packet) of a packet of protocol proto whose IP and L4
 *  headers are at ip and l4, updating the IPv4 header and L4 checksums. The
 *  checksums too are worked as they load, unswapped: RFC 1624's update is a ones'
 *  complement sum, the same in either byte order (RFC 1071). Inlined,
 *  with translatable(): as two calls a packet they cost nat about 3 ns of its 40 on the
 *  NF path. */
@inline function rewrite(ip: usize, l4: usize, proto: u8, addrOff: usize, newAddr: u32, portOff: usize, newPort: u32): void {
  const oldAddr = load<u32>(ip + addrOff);
  const oldPort = <u32>load<u16>(l4 + portOff);
  store<u32>(ip + addrOff, newAddr);
  store<u16>(ip + 10, <u16>checksumUpdate32(<u32>load<u16>(ip + 10), oldAddr, newAddr));
  store<u16>(l4 + portOff, <u16>newPort);
  const field = l4 + l4ChecksumAt(proto);
  const old = <u32>load<u16>(field);
  if (proto == IPPROTO_UDP && old == 0) return; // no checksum: stays none
  let c = old;
  if (proto != IPPROTO_ICMP) c = checksumUpdate32(c, oldAddr, newAddr); // pseudo-header
  c = checksumUpdate16(c, oldPort, newPort);
  if (proto == IPPROTO_UDP && c == 0) c = 0xffff;
  store<u16>(field, <u16>c);
}

/** Marks a closing TCP flow to expire closingNs after now. */
@inline function ageClosing(t: FlowTable, slot: u32, now: u64): void {
  const back = timeoutNs - closingNs;
  t.touch(slot, now > back ? now - back : 0);
}

// The ports of the packet classify() last accepted, as they load: ours (the
// inside host's outbound, the public one inbound) and the remote endpoint's.
let ourPort: u32 = 0;
let theirPort: u32 = 0;

const PASSES = -1;         // classify(): NAT leaves the packet as it is
const UNTRANSLATABLE = -2; // classify(): a TCP/UDP packet without a whole L4 header

/** The protocol index of the packet p is at if NAT translates it (its ports in
 *  ourPort and theirPort), else PASSES or UNTRANSLATABLE. Reads only. Inlined:
 *  as a call, warmBurst measured 3 ns a packet slower (Wasm/C 0.59 vs 0.65x). */
@inline function classify(addr: usize, meta: usize, outbound: bool): i32 {
  const proto = load<u8>(meta, META_L4_PROTO);
  const l4 = <usize>load<u16>(meta, META_L4);
  if (proto == IPPROTO_TCP || proto == IPPROTO_UDP) {
    if (l4 == 0) return UNTRANSLATABLE;
    // The ports, read once from the whole L4 header.
    const sport = <u32>load<u16>(addr + l4);
    const dport = <u32>load<u16>(addr + l4, 2);
    ourPort = outbound ? sport : dport;
    theirPort = outbound ? dport : sport;
    return proto == IPPROTO_TCP ? PI_TCP : PI_UDP;
  }
  const echo = outbound ? ICMP_ECHO_REQUEST : ICMP_ECHO_REPLY;
  if (proto == IPPROTO_ICMP && l4 != 0 && l4LenOf(meta) >= 8 && load<u8>(addr + l4) == echo) {
    ourPort = <u32>load<u16>(addr + l4, 4);
    theirPort = 0;
    return PI_ICMP;
  }
  return PASSES;
}

/** classify() on packet i, dropping and counting an untranslatable one; -1 when it is not translated. */
@inline function translatable(i: i32, addr: usize, meta: usize, outbound: bool): i32 {
  const found = classify(addr, meta, outbound);
  if (found == UNTRANSLATABLE) {
    untranslatable.add();
    setVerdict(i, DROP);
  }
  return found < 0 ? -1 : found;
}

/** The flow key's words (hashKey16's), of addresses and ports as they load: k0 = inside |
 *  far address << 32, k1 = inside port | far port << 16 | protocol << 32 (ICMP:
 *  identifier, 0). */
@inline function key0(src: u32, dst: u32): u64 {
  return <u64>src | <u64>dst << 32;
}
@inline function key1(localPort: u32, remotePort: u32, proto: u32): u64 {
  return <u64>localPort | <u64>remotePort << 16 | <u64>proto << 32;
}

/** The protocol index of a flow key's protocol (k1's bits 32-39: TCP, UDP or ICMP). */
@inline function protoIndex(k1: u64): u32 {
  const proto = <u32>(k1 >> 32);
  return proto == IPPROTO_TCP ? PI_TCP : proto == IPPROTO_UDP ? PI_UDP : PI_ICMP;
}

/** An outbound packet NAT translates, of the flow k0, k1 (key0, key1) whose hash is hash,
 *  its IP and L4 headers at ip and l4. */
function outbound(i: i32, t: FlowTable, now: u64, k0: u64, k1: u64, hash: u32, ip: usize, l4: usize): void {
  const pi = protoIndex(k1);
  // find16 first: the common hit in a small call, the insert path (findOrInsert16's) apart.
  let slot = t.find16(k0, k1, hash);
  if (slot >= 0) {
    t.touch(<u32>slot, now);
  } else {
    slot = t.findOrInsert16(k0, k1, hash, now);
    drainFreed(t); // a reclaimed slot's port first, before the slot is reused
    if (slot < 0) {
      tableFull.add();
      setVerdict(i, DROP);
      return;
    }
    if (!allocate(pi, bswap<u32>(<u32>k0))) {
      t.removeSlot(<u32>slot);
      portExhausted.add();
      setVerdict(i, DROP);
      return;
    }
    store<u32>(t.userOf(<u32>slot), userWord(swap16(allocPortNo), allocIdx, pi, 0));
    store<u32>(slotOfPort(poolOf(allocIdx, pi), allocPortNo), <u32>slot + 1);
    newMappings.add();
  }
  const user = t.userOf(<u32>slot);
  rewrite(ip, l4, <u8>(k1 >> 32), 12, load<u32>(publicBe + (<usize>load<u8>(user, U_IDX) << 2)), pi == PI_ICMP ? 4 : 0,
    <u32>load<u16>(user, U_PORT));
  translatedOut.add();
  if (pi == PI_TCP) tcpState(t, <u32>slot, 1, now, l4);
}

/** A packet to public address number idx, from src; its first byte at addr, its parse at meta. */
function inbound(i: i32, t: FlowTable, now: u64, idx: u32, src: u32, addr: usize, meta: usize): void {
  const found = translatable(i, addr, meta, false);
  if (found < 0) return;
  const pi = <u32>found;
  const held = load<u32>(slotOfPort(poolOf(idx, pi), swap16(ourPort)));
  if (held == 0) {
    noMapping.add();
    setVerdict(i, DROP);
    return;
  }
  const slot = held - 1;
  const r = t.keyOf(slot);
  if (load<u32>(r, K_REM_ADDR) != src || <u32>load<u16>(r, K_REM_PORT) != theirPort) {
    noMapping.add();
    setVerdict(i, DROP);
    return;
  }
  t.touch(slot, now);
  const l4 = addr + <usize>load<u16>(meta, META_L4);
  rewrite(addr + <usize>load<u16>(meta, META_L3), l4, load<u8>(meta, META_L4_PROTO), 16, load<u32>(r, K_IN_ADDR),
    pi == PI_ICMP ? 4 : 2, <u32>load<u16>(r, K_IN_PORT));
  translatedIn.add();
  if (pi == PI_TCP) tcpState(t, slot, 2, now, l4);
}

/** RST ends the mapping at once; FIN both ways shortens its life (the TCP header at l4). */
function tcpState(t: FlowTable, slot: u32, dirBit: u8, now: u64, l4: usize): void {
  const flags = load<u8>(l4, 13);
  if (flags & TCP_RST) {
    releaseSlot(t, slot);
    t.removeSlot(slot);
    closedMappings.add();
    return;
  }
  const user = t.userOf(slot);
  let meta = load<u8>(user, U_META);
  if (flags & TCP_FIN) {
    meta |= dirBit;
    store<u8>(user, meta, U_META);
  }
  if ((meta & META_FIN) == META_FIN) ageClosing(t, slot, now);
}

/** Starts the burst's lookups together, as a DPDK NF does (the CPU overlaps
 *  their cache misses; one at a time, each packet waits for its own): the key
 *  and hash of each outbound flow, its bucket and record loaded (Wasm has no
 *  prefetch: plain loads, whose values are kept); for an inbound packet, its
 *  public port's entry. Reads only, but for what it found of each packet
 *  (burstK0, burstK1, burstHash), which netvm_process takes rather than read
 *  and classify the packet again. */
function warmBurst(t: FlowTable, n: i32): void {
  const net = insideNetBe;
  const mask = insideMaskBe;
  const pub = publicBase;
  const count = publicCount;
  let m = 0;
  let sink: u32 = 0;
  for (let i = 0; i < n; i++) {
    const at = <usize>i;
    store<u64>(burstK1 + (at << 3), NO_KEY);
    // The parse's fields read once each, into locals (V8 reloads a Parsed getter's fields at every use).
    const meta = packetMeta(i);
    if (load<u8>(meta, META_IP_VERSION) != 4) continue;
    const addr = packetAddr(i);
    const ip = addr + <usize>load<u16>(meta, META_L3);
    const src = load<u32>(ip, 12);
    const dst = load<u32>(ip, 16);
    if ((src & mask) == net) {
      if ((dst & mask) == net || classify(addr, meta, true) < 0) continue;
      const k0 = key0(src, dst);
      const k1 = key1(ourPort, theirPort, load<u8>(meta, META_L4_PROTO));
      const hash = hashKey16(k0, k1, seed);
      store<u64>(burstK0 + (at << 3), k0);
      store<u64>(burstK1 + (at << 3), k1);
      store<u32>(burstHash + (at << 2), hash);
      store<u32>(burstIp + (at << 2), ip);
      store<u32>(burstL4 + (at << 2), addr + <usize>load<u16>(meta, META_L4));
      store<u32>(outHashes + (<usize>m << 2), hash);
      m++;
    } else {
      const idx = bswap<u32>(dst) - pub;
      if (idx >= count) continue;
      const pi = classify(addr, meta, false);
      if (pi >= 0) sink ^= load<u32>(slotOfPort(poolOf(idx, <u32>pi), swap16(ourPort)));
    }
  }
  t.prefetch(outHashes, m);
  warmSink = sink;
}

export function netvm_process(n: i32): void {
  const t = table;
  if (t == null) return; // not configured
  const now = <u64>nowNs();
  const net = insideNetBe;
  const mask = insideMaskBe;
  const pub = publicBase;
  const count = publicCount;
  warmBurst(t, min(n, MAX_BURST));
  for (let i = 0; i < n; i++) {
    const at = <usize>i;
    const known = i < MAX_BURST ? load<u64>(burstK1 + (at << 3)) : NO_KEY;
    if (known != NO_KEY) {
      outbound(i, t, now, load<u64>(burstK0 + (at << 3)), known, load<u32>(burstHash + (at << 2)),
        load<u32>(burstIp + (at << 2)), load<u32>(burstL4 + (at << 2)));
      continue;
    }
    // Not an outbound flow warmBurst keyed: the rest.
    const meta = packetMeta(i);
    if (load<u8>(meta, META_IP_VERSION) != 4) continue;
    const addr = packetAddr(i);
    const ip = addr + <usize>load<u16>(meta, META_L3);
    const src = load<u32>(ip, 12);
    const dst = load<u32>(ip, 16);
    if ((src & mask) == net) {
      if ((dst & mask) != net && translatable(i, addr, meta, true) >= 0) {
        const k0 = key0(src, dst);
        const k1 = key1(ourPort, theirPort, load<u8>(meta, META_L4_PROTO));
        outbound(i, t, now, k0, k1, hashKey16(k0, k1, seed), ip, addr + <usize>load<u16>(meta, META_L4));
      }
    } else {
      const idx = bswap<u32>(dst) - pub;
      if (idx < count) inbound(i, t, now, idx, src, addr, meta);
    }
  }
  t.expire(now, SWEEP_BUDGET);
  drainFreed(t);
  mappings.set(t.size);
}

// ---- state handover ----------------------------------------------------------

const STATE_KIND = 'nat';
const STATE_VERSION: u32 = 2;
const STATE_RECORD_BYTES: usize = 28;
const PROTO_OF_INDEX: u32[] = [IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP];

// A mapping record: u32 inside addr, u32 far addr, u16 inside port, u16 far
// port, u16 public port, u8 protocol index, u8 FIN bits, u64 last seen (ns),
// u32 public addr (version 2; version 1 had one public address and no field). All in
// host order.
export function netvm_state_export(): usize {
  const t = table;
  if (t == null) return 0;
  const w = new StateWriter(STATE_KIND, STATE_VERSION, 4 + <usize>t.size * STATE_RECORD_BYTES);
  w.u32(t.size);
  for (let slot = t.nextInUse(0); slot >= 0; slot = t.nextInUse(<u32>slot + 1)) {
    const r = t.keyOf(<u32>slot);
    const user = t.userOf(<u32>slot);
    const meta = load<u8>(user, U_META);
    w.u32(bswap<u32>(load<u32>(r, K_IN_ADDR)));
    w.u32(bswap<u32>(load<u32>(r, K_REM_ADDR)));
    w.u16(bswap<u16>(load<u16>(r, K_IN_PORT)));
    w.u16(bswap<u16>(load<u16>(r, K_REM_PORT)));
    w.u16(bswap<u16>(load<u16>(user, U_PORT)));
    w.u8(meta >> META_PI_SHIFT);
    w.u8(meta & META_FIN);
    w.u64(t.lastSeen(<u32>slot));
    w.u32(publicBase + <u32>load<u8>(user, U_IDX));
  }
  return w.finish();
}

export function netvm_state_import(ptr: usize, len: i32): i32 {
  const t = table;
  if (t == null) {
    log(LogLevel.ERROR, 'state import before configure');
    return 1;
  }
  const r = openState(ptr, len, STATE_KIND, STATE_VERSION);
  if (r == null) return 1;
  const n = r.records('mappings', STATE_RECORD_BYTES);
  if (n < 0) return 1;
  for (let k: i64 = 0; k < n; k++) {
    const inAddr = r.u32();
    const remAddr = r.u32();
    const inPort = r.u16();
    const remPort = r.u16();
    const pubPort = <u32>r.u16();
    const pi = <u32>r.u8();
    const fin = r.u8();
    const seen = r.u64();
    const idx = r.u32() - publicBase;
    const pool = poolOf(min(idx, publicCount - 1), min(pi, N_PROTOS - 1));
    const bm = freeBits + pool * BITMAP_BYTES + (pubPort >> 3);
    if (pi >= N_PROTOS || idx >= publicCount || pubPort < portLo || pubPort > portHi || (load<u8>(bm) & <u8>(<u32>1 << (pubPort & 7))) == 0 ||
        (inAddr & insideMask) != insideNet || (remAddr & insideMask) == insideNet) {
      importSkipped.add();
      continue;
    }
    const k0 = key0(bswap<u32>(inAddr), bswap<u32>(remAddr));
    const k1 = key1(swap16(inPort), swap16(remPort), unchecked(PROTO_OF_INDEX[pi]));
    const slot = t.findOrInsert16(k0, k1, hashKey16(k0, k1, seed), seen);
    drainFreed(t);
    if (slot < 0 || !t.inserted) {
      importSkipped.add();
      continue;
    }
    store<u32>(t.userOf(<u32>slot), userWord(swap16(pubPort), idx, pi, fin & META_FIN));
    store<u8>(bm, load<u8>(bm) & ~<u8>(<u32>1 << (pubPort & 7)));
    const free = freeCount + (pool << 2);
    store<u32>(free, load<u32>(free) - 1);
    store<u32>(slotOfPort(pool, pubPort), <u32>slot + 1);
    importedMappings.add();
  }
  mappings.set(t.size);
  return 0;
}
