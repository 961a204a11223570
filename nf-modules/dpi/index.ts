// dpi: payload signature matching. Every TCP and UDP payload is scanned for
// the configured patterns at once (Aho-Corasick); the pattern whose match
// ends first decides: drop the packet, or count it and let it go on.
//
// config:
//   patterns: [ { text: "..." | hex: "0a0b...", action: drop | count } ]   (required, 1..4096)
//   protocols: [tcp, udp]                                                 (both)
//   notify: <nf>       an NF of this chain told of each match's flow (a firewall: it blocks it)
//   block_s: number    (300) for how long the flow is to be blocked, 1 to 86400 s
//
// A match with notify sends the NF a flow message (nf-modules/sdk/messages.ts),
// 48 bytes: u32 1 (block a flow), u32 seconds, the flow's canonical 40-byte key
// (nf-modules/sdk/flow.ts): firewall blocks the flow both ways.
//
// Metrics: scanned (payloads scanned), matched, dropped, notified (flow messages
// sent), and pattern_<i> per pattern (the first 60).
import { ConfigReader, JsonValue, itemPath, keyPath, parseJson } from '../sdk/json';
import { AhoCorasick } from '../sdk/aho-corasick';
import {
  Counter, DROP, FLOW_KEY_BYTES, IPPROTO_TCP, IPPROTO_UDP, LogLevel, Parsed, SENT, configText, counter, flowKey, log, messageBuffer,
  messageTarget, sendBuffer, setVerdict,
} from '../sdk';
export * from '../sdk/exports';

const MAX_PATTERNS = 4096;
const MAX_PATTERN_BYTES = 1024;
const PATTERN_METRICS = 60;

let matcher: AhoCorasick | null = null;
let dropAction: StaticArray<bool> = new StaticArray<bool>(0);
let perPattern: Counter[] = [];
let scanTcp = true;
let scanUdp = true;
let notifyTarget: i32 = -1;
let blockSeconds: u32 = 300;

/** A flow message: u32 kind, u32 seconds, the flow key. */
export const FLOW_MESSAGE_BLOCK: u32 = 1;
const FLOW_MESSAGE_BYTES: i32 = 8 + <i32>FLOW_KEY_BYTES;

const p = new Parsed();
const scanned = counter('scanned');
const matched = counter('matched');
const dropped = counter('dropped');
const notified = counter('notified');

function hexValue(c: i32): i32 {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** The pattern's bytes, or null (an error recorded). */
function patternBytes(r: ConfigReader, item: JsonValue, path: string): ArrayBuffer | null {
  const text = r.string(item, 'text', path, '');
  const hex = r.string(item, 'hex', path, '');
  if ((text.length == 0) == (hex.length == 0)) {
    r.fail(path, 'needs one of text or hex');
    return null;
  }
  let bytes: ArrayBuffer;
  if (text.length > 0) {
    bytes = String.UTF8.encode(text);
  } else {
    if (hex.length % 2 != 0) {
      r.fail(keyPath(path, 'hex'), 'must be an even number of hex digits');
      return null;
    }
    bytes = new ArrayBuffer(hex.length / 2);
    for (let i = 0; i < hex.length; i += 2) {
      const hi = hexValue(hex.charCodeAt(i));
      const lo = hexValue(hex.charCodeAt(i + 1));
      if (hi < 0 || lo < 0) {
        r.fail(keyPath(path, 'hex'), 'must be hex digits');
        return null;
      }
      store<u8>(changetype<usize>(bytes) + <usize>(i / 2), <u8>((hi << 4) | lo));
    }
  }
  if (bytes.byteLength > MAX_PATTERN_BYTES) {
    r.fail(path, `is longer than ${MAX_PATTERN_BYTES} bytes`);
    return null;
  }
  return bytes;
}

export function netvm_configure(ptr: usize, len: i32): i32 {
  const r = new ConfigReader(parseJson(configText(ptr, len)));
  const root = r.root;
  r.object(root, '');
  r.unknownKeys(root, '', ['patterns', 'protocols', 'notify', 'block_s']);
  const notify = r.string(root, 'notify', '', '');
  blockSeconds = <u32>r.integer(root, 'block_s', '', 1, 86400, 300);
  if (notify.length > 0) {
    notifyTarget = messageTarget(notify);
    if (notifyTarget < 0) r.fail('notify', `no other NF '${notify}' in this chain`);
  }
  const list = r.array(root, 'patterns', '');
  const n = list == null ? 0 : list.length;
  if (list != null && (n == 0 || n > MAX_PATTERNS)) r.fail('patterns', `must hold 1 to ${MAX_PATTERNS} patterns`);
  const protocols = r.array(root, 'protocols', '', false);
  if (protocols != null) {
    scanTcp = false;
    scanUdp = false;
    for (let i = 0; i < protocols.length; i++) {
      const name = protocols.at(i)!.asString();
      if (name == 'tcp') scanTcp = true;
      else if (name == 'udp') scanUdp = true;
      else r.fail(itemPath('protocols', i), 'must be tcp or udp');
    }
  }
  const all = new Array<ArrayBuffer>();
  dropAction = new StaticArray<bool>(max(n, 1));
  let states = 1;
  for (let i = 0; i < n && r.ok(); i++) {
    const path = itemPath('patterns', i);
    const item = list!.at(i);
    if (!r.object(item, path)) break;
    r.unknownKeys(item, path, ['text', 'hex', 'action']);
    dropAction[i] = r.choice(item!, 'action', path, ['count', 'drop']) == 1;
    const bytes = patternBytes(r, item!, path);
    if (bytes != null) {
      all.push(bytes);
      states += bytes.byteLength;
    }
  }
  if (!r.ok()) {
    log(LogLevel.ERROR, `config: ${r.error()}`);
    return 1;
  }
  const ac = new AhoCorasick(<u32>states);
  for (let i = 0; i < all.length; i++) ac.add(changetype<usize>(all[i]), all[i].byteLength, i);
  ac.build();
  matcher = ac;
  perPattern = new Array<Counter>(min(n, PATTERN_METRICS));
  for (let i = 0; i < perPattern.length; i++) perPattern[i] = counter(`pattern_${i}`);
  return 0;
}

/** Tells the notify target to block p's flow (a dropped message is counted by the host). */
function notify(p: Parsed): void {
  const buf = messageBuffer(FLOW_MESSAGE_BYTES);
  if (buf == 0) return;
  store<u32>(buf, FLOW_MESSAGE_BLOCK);
  store<u32>(buf, blockSeconds, 4);
  flowKey(p, buf + 8);
  if (sendBuffer(notifyTarget, buf, FLOW_MESSAGE_BYTES) == SENT) notified.add();
}

export function netvm_process(n: i32): void {
  const ac = matcher;
  if (ac == null) return; // not configured: nothing to look for
  for (let i = 0; i < n; i++) {
    p.at(i);
    if (p.l4 == 0) continue;
    let payload: u32;
    if (p.l4Proto == IPPROTO_TCP && scanTcp) payload = p.l4 + (<u32>(load<u8>(p.addr + p.l4, 12) >> 4) << 2);
    else if (p.l4Proto == IPPROTO_UDP && scanUdp) payload = p.l4 + 8;
    else continue;
    const end = p.l3 + p.ipLen;
    if (payload >= end) continue;
    scanned.add();
    const id = ac.scan(p.addr + payload, end - payload);
    if (id < 0) continue;
    matched.add();
    if (id < perPattern.length) perPattern[id].add();
    if (notifyTarget >= 0) notify(p);
    if (dropAction[id]) {
      setVerdict(i, DROP);
      dropped.add();
    }
  }
}
