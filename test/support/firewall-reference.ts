// An independent reference of nf-modules/firewall, over parse-reference's view
// of a frame: rules in order, default policy, and the stateful mode's flows.
import { parseRef } from './parse-reference.js';

export interface FwRule {
  action: 'allow' | 'deny';
  proto?: 'tcp' | 'udp' | 'icmp' | 'icmpv6' | 'any' | number;
  src?: string;
  dst?: string;
  sport?: number | string;
  dport?: number | string;
}

export interface FwConfig {
  default: 'allow' | 'deny';
  non_ip?: 'allow' | 'deny';
  stateful?: boolean;
  rules?: FwRule[];
}

const PROTOS: Record<string, number> = { tcp: 6, udp: 17, icmp: 1, icmpv6: 58 };

function addrBits(frame: Uint8Array, at: number, bytes: number): bigint {
  return BigInt('0x' + Buffer.from(frame.subarray(at, at + bytes)).toString('hex'));
}

function prefixBits(text: string): { version: number; bits: bigint; len: number } {
  const [addr, len] = text.split('/');
  if (addr!.includes(':')) {
    const [head, tail] = addr!.split('::');
    const h = head ? head.split(':') : [];
    const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
    const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
    const bits = groups.reduce((v, g) => (v << 16n) | BigInt(parseInt(g, 16)), 0n);
    return { version: 6, bits, len: len === undefined ? 128 : Number(len) };
  }
  const bits = addr!.split('.').reduce((v, o) => (v << 8n) | BigInt(Number(o)), 0n);
  return { version: 4, bits, len: len === undefined ? 32 : Number(len) };
}

function inPrefix(value: bigint, width: number, prefix: string): boolean {
  const p = prefixBits(prefix);
  const shift = BigInt(width - p.len);
  return value >> shift === p.bits >> shift;
}

function portRange(spec: number | string): [number, number] {
  if (typeof spec === 'number') return [spec, spec];
  const [lo, hi] = spec.split('-').map(Number);
  return [lo!, hi!];
}

export class FirewallReference {
  /** Flows by canonical key: the initiator's endpoint, and TCP's state. */
  private readonly flows = new Map<string, { initiator: string; tcp: 'none' | 'await' | 'open' }>();

  constructor(private readonly cfg: FwConfig) {}

  private byRules(r: ReturnType<typeof parseRef>, frame: Uint8Array): boolean {
    const width = r.ipVersion === 4 ? 32 : 128;
    const bytes = width / 8;
    const srcAt = r.l3 + (r.ipVersion === 4 ? 12 : 8);
    const src = addrBits(frame, srcAt, bytes);
    const dst = addrBits(frame, srcAt + bytes, bytes);
    const hasPorts = r.l4 !== 0 && (r.l4Proto === 6 || r.l4Proto === 17);
    for (const rule of this.cfg.rules ?? []) {
      const version = rule.src !== undefined ? prefixBits(rule.src).version : rule.dst !== undefined ? prefixBits(rule.dst).version : 0;
      if (version !== 0 && version !== r.ipVersion) continue;
      if (rule.proto !== undefined && rule.proto !== 'any') {
        const proto = typeof rule.proto === 'number' ? rule.proto : PROTOS[rule.proto];
        if (proto !== r.l4Proto) continue;
      }
      if (rule.src !== undefined && !inPrefix(src, width, rule.src)) continue;
      if (rule.dst !== undefined && !inPrefix(dst, width, rule.dst)) continue;
      if (rule.sport !== undefined || rule.dport !== undefined) {
        if (!hasPorts) continue;
        const [slo, shi] = rule.sport === undefined ? [0, 65535] : portRange(rule.sport);
        const [dlo, dhi] = rule.dport === undefined ? [0, 65535] : portRange(rule.dport);
        if (r.srcPort < slo || r.srcPort > shi || r.dstPort < dlo || r.dstPort > dhi) continue;
      }
      return rule.action === 'allow';
    }
    return this.cfg.default === 'allow';
  }

  /** Whether the firewall lets frame through (and, stateful, what it remembers). */
  decide(frame: Uint8Array): boolean {
    const r = parseRef(frame);
    if (r.ipVersion === 0) {
      const ip = r.etherType === 0x0800 || r.etherType === 0x86dd;
      return !ip && (this.cfg.non_ip ?? 'allow') === 'allow';
    }
    if (!this.cfg.stateful) return this.byRules(r, frame);

    const bytes = r.ipVersion === 4 ? 4 : 16;
    const srcAt = r.l3 + (r.ipVersion === 4 ? 12 : 8);
    const ported = r.l4 !== 0 && (r.l4Proto === 6 || r.l4Proto === 17);
    const a = `${Buffer.from(frame.subarray(srcAt, srcAt + bytes)).toString('hex')}:${ported ? r.srcPort : 0}`;
    const b = `${Buffer.from(frame.subarray(srcAt + bytes, srcAt + 2 * bytes)).toString('hex')}:${ported ? r.dstPort : 0}`;
    const key = `${r.ipVersion}/${r.l4Proto}/${[a, b].sort().join('-')}`;
    const isTcp = r.l4Proto === 6 && r.l4 !== 0;
    const flow = this.flows.get(key);
    if (flow !== undefined) {
      if (isTcp) {
        const rst = (r.tcpFlags & 0x04) !== 0;
        const synAck = (r.tcpFlags & 0x12) === 0x12;
        if (flow.tcp === 'await' && a !== flow.initiator) {
          if (!rst && !synAck) return false;
          if (!rst) flow.tcp = 'open';
        }
        if (rst) this.flows.delete(key);
      }
      return true;
    }
    if (!this.byRules(r, frame)) return false;
    if (isTcp && (r.tcpFlags & 0x16) !== 0x02) return true;
    this.flows.set(key, { initiator: a, tcp: isTcp ? 'await' : 'none' });
    return true;
  }
}
