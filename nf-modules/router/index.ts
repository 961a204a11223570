// router: IPv4 and IPv6 forwarding by longest-prefix match. A packet whose
// route is found leaves by its next hop's port, with the next hop's MAC as
// destination (and src_mac, if set, as source), its TTL or hop limit one
// less and, for IPv4, its header checksum updated (RFC 1624).
//
// config:
//   next_hops: [ { port: <port index>, mac: "02:00:00:00:00:02", src_mac: "..." } ]  (required, 1..65534)
//   routes: [ { prefix: "10.0.0.0/8" | "2001:db8::/32", via: <next hop index> } ]
//   non_ip: drop | pass                                                             (drop)
//   egress: port | next                                                             (port)
//     port: a routed packet leaves at once by its next hop's port; next: it goes on
//     to the next NF of the chain (routing then only rewrites: MACs, TTL), for a
//     chain that does more after routing (nat, monitor) and leaves by its `to`
// Big tables come from a file: `config_file:` in the NF's entry instead of `config:`.
//
// Dropped, each counted: no route (no_route), TTL/hop limit <= 1 (ttl_expired),
// IP headers that are truncated, lie about their length or fail their
// checksum (malformed); non-IP frames unless non_ip is pass.
// A burst is worked in three passes, as VPP does: parse every packet and
// collect destinations; look them all up (the table's misses overlap); then
// rewrite and send.
import { ConfigReader, itemPath, parseJson } from '../sdk/json';
import { Lpm4, LPM4_MAX_GROUPS, NO_ROUTE } from '../sdk/lpm4';
import { Lpm6, LPM6_MAX_GROUPS } from '../sdk/lpm6';
import {
  DROP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, LogLevel, MAX_BURST, META_ETHER_TYPE, META_FLAGS, META_F_TRUNCATED, META_IP_HLEN,
  META_IP_VERSION, META_L3, configText, counter, ipv4HeaderChecksumOk, ipv4TtlStep, log, outPort, packetAddr, packetMeta,
  parseMac, parsePrefix, setVerdict,
} from '../sdk';
export * from '../sdk/exports';

const MAX_NEXT_HOPS = 65534;

let lpm4: Lpm4 | null = null;
let lpm6: Lpm6 | null = null;
let hopPort: StaticArray<u32> = new StaticArray<u32>(0);
let hopMac: usize = 0;    // 6 bytes a next hop
let hopSrcMac: usize = 0; // 6 bytes a next hop
let hopHasSrc: StaticArray<bool> = new StaticArray<bool>(0);
let passNonIp = false;
let toNext = false; // egress: next

// Per burst: which packets wait for which lookup.
const addrs4: usize = memory.data(MAX_BURST * 4, 8);
const hops4: usize = memory.data(MAX_BURST * 2, 8);
const idx4: usize = memory.data(MAX_BURST * 4, 8);
const addrs6: usize = memory.data(MAX_BURST * 16, 8);
const hops6: usize = memory.data(MAX_BURST * 2, 8);
const idx6: usize = memory.data(MAX_BURST * 4, 8);
const ipOf: usize = memory.data(MAX_BURST * 4, 8); // each packet's IP header

const forwarded = counter('forwarded');
const noRoute = counter('no_route');
const ttlExpired = counter('ttl_expired');
const malformed = counter('malformed');
const nonIp = counter('non_ip');
const prefix: usize = memory.data(16, 8);

export function netvm_configure(ptr: usize, len: i32): i32 {
  const r = new ConfigReader(parseJson(configText(ptr, len)));
  const root = r.root;
  r.object(root, '');
  r.unknownKeys(root, '', ['next_hops', 'routes', 'non_ip', 'egress']);
  passNonIp = r.choice(root, 'non_ip', '', ['drop', 'pass'], 0) == 1;
  const egressNext = r.choice(root, 'egress', '', ['port', 'next'], 0) == 1;
  const hops = r.array(root, 'next_hops', '');
  const nHops = hops == null ? 0 : hops.length;
  if (hops != null && (nHops == 0 || nHops > MAX_NEXT_HOPS)) r.fail('next_hops', `must hold 1 to ${MAX_NEXT_HOPS} next hops`);
  hopPort = new StaticArray<u32>(max(nHops, 1));
  hopHasSrc = new StaticArray<bool>(max(nHops, 1));
  hopMac = heap.alloc(<usize>max(nHops, 1) * 6);
  hopSrcMac = heap.alloc(<usize>max(nHops, 1) * 6);
  for (let i = 0; i < nHops && r.ok(); i++) {
    const path = itemPath('next_hops', i);
    const hop = hops!.at(i);
    if (!r.object(hop, path)) break;
    r.unknownKeys(hop, path, ['port', 'mac', 'src_mac']);
    hopPort[i] = <u32>r.integer(hop, 'port', path, 0, 65535);
    if (!parseMac(r.string(hop, 'mac', path), hopMac + <usize>i * 6) && r.ok()) r.fail(`${path}.mac`, 'must be a MAC address like 02:00:00:00:00:01');
    const src = r.string(hop, 'src_mac', path, '');
    hopHasSrc[i] = src.length > 0;
    if (src.length > 0 && !parseMac(src, hopSrcMac + <usize>i * 6)) r.fail(`${path}.src_mac`, 'must be a MAC address like 02:00:00:00:00:01');
  }
  const routes = r.array(root, 'routes', '');
  const nRoutes = routes == null ? 0 : routes.length;
  // Size the tables from the routes: one tbl8 group at most per IPv4 route
  // longer than /24; one IPv6 group per byte of prefix past the first 16 bits.
  let n4: u32 = 0, n6: u32 = 0, groups4: u32 = 1, groups6: u32 = 1;
  for (let i = 0; i < nRoutes && r.ok(); i++) {
    const route = routes!.at(i);
    const path = itemPath('routes', i);
    if (!r.object(route, path)) break;
    const parsed = parsePrefix(r.string(route, 'prefix', path), prefix);
    if (parsed < 0) continue;
    const plen = parsed & 0xff;
    if (parsed >> 8 == 4) { n4++; if (plen > 24) groups4++; }
    else { n6++; groups6 += plen > 16 ? <u32>((plen - 9) >> 3) : 0; }
  }
  const table4 = new Lpm4(min(groups4, LPM4_MAX_GROUPS), max(n4, 1));
  const table6 = new Lpm6(min(groups6, LPM6_MAX_GROUPS), max(n6, 1));
  for (let i = 0; i < nRoutes && r.ok(); i++) {
    const route = routes!.at(i)!;
    const path = itemPath('routes', i);
    r.unknownKeys(route, path, ['prefix', 'via']);
    const text = r.string(route, 'prefix', path);
    const via = <u16>r.integer(route, 'via', path, 0, max(nHops - 1, 0));
    const parsed = parsePrefix(text, prefix);
    if (parsed < 0) {
      if (r.ok()) r.fail(`${path}.prefix`, `'${text}' is not an IPv4 or IPv6 prefix (like 10.0.0.0/8)`);
      break;
    }
    const added = parsed >> 8 == 4
      ? table4.add(bswap<u32>(load<u32>(prefix)), <u8>(parsed & 0xff), via)
      : table6.add(prefix, <u8>(parsed & 0xff), via);
    if (!added && r.ok()) r.fail(path, 'could not be added (the table is full)');
  }
  if (!r.ok()) {
    log(LogLevel.ERROR, `config: ${r.error()}`);
    return 1;
  }
  lpm4 = table4;
  lpm6 = table6;
  toNext = egressNext;
  return 0;
}

/** Copies a MAC address (by hand: V8 runs memory.copy as a call). */
@inline function copyMac(to: usize, from: usize): void {
  store<u32>(to, load<u32>(from));
  store<u16>(to, load<u16>(from, 4), 4);
}

/** Rewrites the MACs and sends packet i by next hop h. */
@inline function sendBy(i: i32, addr: usize, h: u32): void {
  copyMac(addr, hopMac + <usize>h * 6);
  if (unchecked(hopHasSrc[h])) copyMac(addr + 6, hopSrcMac + <usize>h * 6);
  if (!toNext) setVerdict(i, outPort(unchecked(hopPort[h])));
  forwarded.add();
}

export function netvm_process(n: i32): void {
  const t4 = lpm4;
  const t6 = lpm6;
  if (t4 == null || t6 == null) return; // not configured
  let k4 = 0;
  let k6 = 0;
  // Pass 1: check and classify; collect destinations.
  for (let i = 0; i < n; i++) {
    // The parse's fields read once each, into locals (V8 reloads a Parsed getter's fields at every use).
    const meta = packetMeta(i);
    const version = load<u8>(meta, META_IP_VERSION);
    const truncated = (load<u8>(meta, META_FLAGS) & META_F_TRUNCATED) != 0;
    const ip = packetAddr(i) + <usize>load<u16>(meta, META_L3);
    store<u32>(ipOf + <usize>(i << 2), ip);
    if (version == 4) {
      if (truncated || !ipv4HeaderChecksumOk(ip, load<u16>(meta, META_IP_HLEN))) {
        malformed.add();
        setVerdict(i, DROP);
      } else if (load<u8>(ip, 8) <= 1) {
        ttlExpired.add();
        setVerdict(i, DROP);
      } else {
        store<u32>(addrs4 + <usize>(k4 << 2), bswap<u32>(load<u32>(ip, 16)));
        store<u32>(idx4 + <usize>(k4++ << 2), i);
      }
    } else if (version == 6) {
      if (truncated) {
        malformed.add();
        setVerdict(i, DROP);
      } else if (load<u8>(ip, 7) <= 1) {
        ttlExpired.add();
        setVerdict(i, DROP);
      } else {
        const to = addrs6 + <usize>(k6 << 4);
        store<u64>(to, load<u64>(ip, 24));
        store<u64>(to, load<u64>(ip, 32), 8);
        store<u32>(idx6 + <usize>(k6++ << 2), i);
      }
    } else if (load<u16>(meta, META_ETHER_TYPE) == ETHERTYPE_IPV4 || load<u16>(meta, META_ETHER_TYPE) == ETHERTYPE_IPV6) {
      malformed.add();
      setVerdict(i, DROP);
    } else {
      nonIp.add();
      if (!passNonIp) setVerdict(i, DROP);
    }
  }
  // Pass 2: all lookups of the burst together.
  t4.lookupBatch(addrs4, hops4, k4);
  t6.lookupBatch(addrs6, hops6, k6);
  // Pass 3: step, rewrite, send.
  for (let j = 0; j < k4; j++) {
    const i = <i32>load<u32>(idx4 + <usize>(j << 2));
    const h = <u32>load<u16>(hops4 + <usize>(j << 1));
    if (h == NO_ROUTE) {
      noRoute.add();
      setVerdict(i, DROP);
      continue;
    }
    ipv4TtlStep(load<u32>(ipOf + <usize>(i << 2)));
    sendBy(i, packetAddr(i), h);
  }
  for (let j = 0; j < k6; j++) {
    const i = <i32>load<u32>(idx6 + <usize>(j << 2));
    const h = <u32>load<u16>(hops6 + <usize>(j << 1));
    if (h == NO_ROUTE) {
      noRoute.add();
      setVerdict(i, DROP);
      continue;
    }
    const ip = <usize>load<u32>(ipOf + <usize>(i << 2));
    store<u8>(ip, load<u8>(ip, 7) - 1, 7);
    sendBy(i, packetAddr(i), h);
  }
}
