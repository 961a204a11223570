// An independent reference of nf-modules/nat (NAPT for IPv4), over
// parse-reference's view of a frame. Rewritten packets get their checksums
// computed from scratch (IPv4 header; TCP/UDP over the pseudo-header; ICMP),
// not updated incrementally as the NF does. Time does not pass here: no
// mapping expires (an offline run is too short for the NF's to).
import { checksum } from './packets.js';
import { parseRef, type ParsedRef } from './parse-reference.js';

export interface NatConfig {
  inside: string;
  public_ip: string;
  ports?: string;
  flows?: number;
  timeout_s?: number;
}

/** What the NAT does with a frame: undefined = dropped; else the frame out, and
 *  the byte offsets whose value the reference does not predict (a checksum it
 *  cannot compute from scratch: the datagram is not all in the frame, or its
 *  checksum was wrong to begin with). */
export interface NatOut {
  data: Uint8Array;
  loose: number[];
  /** Translated (not passed unchanged). */
  translated: boolean;
}

interface Mapping {
  proto: number;
  inAddr: number;
  inPort: number;
  remAddr: number;
  remPort: number;
  pubAddr: number;
  pubPort: number;
  key: string;
}

const TCP = 6, UDP = 17, ICMP = 1;

function addr4(text: string): number {
  return text.split('.').reduce((v, o) => v * 256 + Number(o), 0);
}

export class NatReference {
  readonly metrics = {
    translated_out: 0, translated_in: 0, new_mappings: 0, closed_mappings: 0, no_mapping: 0,
    port_exhausted: 0, table_full: 0, untranslatable: 0, expired_mappings: 0,
  };
  private readonly net: number;
  private readonly mask: number;
  /** The public pool: its first address and how many. */
  private readonly pub: number;
  private readonly pubCount: number;
  private readonly lo: number;
  private readonly hi: number;
  private readonly byKey = new Map<string, Mapping>();
  /** `${public address} ${proto}` -> public port -> mapping */
  private readonly byPort = new Map<string, Map<number, Mapping>>();
  /** `${public address} ${proto}` -> the next port to try */
  private readonly cursor = new Map<string, number>();
  /** The flow table's capacity: flows rounded up to a power of two. */
  private readonly capacity: number;

  constructor(cfg: NatConfig) {
    const [a, l] = cfg.inside.split('/');
    const len = l === undefined ? 32 : Number(l);
    this.mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
    this.net = addr4(a!);
    const [pubAddr, pubLen] = cfg.public_ip.split('/');
    this.pub = addr4(pubAddr!);
    this.pubCount = 2 ** (32 - Number(pubLen ?? 32));
    const [lo, hi] = (cfg.ports ?? '1024-65535').split('-').map(Number);
    this.lo = lo!;
    this.hi = hi ?? lo!;
    for (let a = this.pub; a < this.pub + this.pubCount; a++) {
      for (const p of [TCP, UDP, ICMP]) {
        this.byPort.set(`${a} ${p}`, new Map());
        this.cursor.set(`${a} ${p}`, this.lo);
      }
    }
    this.capacity = 2 ** Math.ceil(Math.log2(Math.max(cfg.flows ?? 65536, 1)));
  }

  get mappings(): number {
    return this.byKey.size;
  }

  /** The public port of the live mapping of a 5-tuple (for the tests' stories). */
  publicPort(proto: number, src: string, sport: number, dst: string, dport: number): number | undefined {
    return this.byKey.get(`${proto} ${addr4(src)}:${sport} ${addr4(dst)}:${dport}`)?.pubPort;
  }

  /** The public address of the live mapping of a 5-tuple, as a number. */
  publicAddr(proto: number, src: string, sport: number, dst: string, dport: number): number | undefined {
    return this.byKey.get(`${proto} ${addr4(src)}:${sport} ${addr4(dst)}:${dport}`)?.pubAddr;
  }

  private inside(a: number): boolean {
    return ((a & this.mask) >>> 0) === this.net;
  }

  /** The inside host's paired address (its address mod the pool's size) or, out of ports, the
   *  next address with one; there, next fit: the first free port from the cursor on, wrapping. */
  private allocate(proto: number, inAddr: number): { addr: number; port: number } | undefined {
    for (let k = 0; k < this.pubCount; k++) {
      const addr = this.pub + ((inAddr % this.pubCount) + k) % this.pubCount;
      const used = this.byPort.get(`${addr} ${proto}`)!;
      const n = this.hi - this.lo + 1;
      const start = this.cursor.get(`${addr} ${proto}`)!;
      for (let i = 0; i < n; i++) {
        const port = this.lo + ((start - this.lo + i) % n);
        if (!used.has(port)) {
          this.cursor.set(`${addr} ${proto}`, port === this.hi ? this.lo : port + 1);
          return { addr, port };
        }
      }
    }
    return undefined;
  }

  process(frame: Uint8Array): NatOut | undefined {
    const r = parseRef(frame);
    const same: NatOut = { data: frame, loose: [], translated: false };
    if (r.ipVersion !== 4) return same;
    const v = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
    const src = v.getUint32(r.l3 + 12);
    const dst = v.getUint32(r.l3 + 16);
    const proto = r.l4Proto;
    const ported = proto === TCP || proto === UDP;
    const echo = (type: number): boolean => proto === ICMP && r.l4 !== 0 && r.l4Len >= 8 && r.icmpType === type;
    if (this.inside(src)) {
      if (this.inside(dst)) return same;
      if (ported && r.l4 === 0) {
        this.metrics.untranslatable++;
        return undefined;
      }
      if (!ported && !echo(8)) return same;
      const local = ported ? v.getUint16(r.l4) : v.getUint16(r.l4 + 4);
      const remote = ported ? v.getUint16(r.l4 + 2) : 0;
      const key = `${proto} ${src}:${local} ${dst}:${remote}`;
      let m = this.byKey.get(key);
      if (m === undefined) {
        if (this.byKey.size >= this.capacity) {
          this.metrics.table_full++;
          return undefined;
        }
        const got = this.allocate(proto, src);
        if (got === undefined) {
          this.metrics.port_exhausted++;
          return undefined;
        }
        m = { proto, inAddr: src, inPort: local, remAddr: dst, remPort: remote, pubAddr: got.addr, pubPort: got.port, key };
        this.byKey.set(key, m);
        this.byPort.get(`${got.addr} ${proto}`)!.set(got.port, m);
        this.metrics.new_mappings++;
      }
      this.metrics.translated_out++;
      const out = this.rewrite(frame, r, 12, m.pubAddr, ported ? 0 : 4, m.pubPort);
      this.afterTcp(r, m);
      return out;
    }
    if (dst < this.pub || dst >= this.pub + this.pubCount) return same;
    if (ported && r.l4 === 0) {
      this.metrics.untranslatable++;
      return undefined;
    }
    if (!ported && !echo(0)) return same;
    const port = ported ? v.getUint16(r.l4 + 2) : v.getUint16(r.l4 + 4);
    const remote = ported ? v.getUint16(r.l4) : 0;
    const m = this.byPort.get(`${dst} ${proto}`)!.get(port);
    if (m === undefined || m.remAddr !== src || m.remPort !== remote) {
      this.metrics.no_mapping++;
      return undefined;
    }
    this.metrics.translated_in++;
    const out = this.rewrite(frame, r, 16, m.inAddr, ported ? 2 : 4, m.inPort);
    this.afterTcp(r, m);
    return out;
  }

  private afterTcp(r: ParsedRef, m: Mapping): void {
    if (m.proto !== TCP || (r.tcpFlags & 0x04) === 0) return;
    this.byKey.delete(m.key);
    this.byPort.get(`${m.pubAddr} ${TCP}`)!.delete(m.pubPort);
    this.metrics.closed_mappings++;
  }

  /** A copy with the address at l3 + addrAt and the port at l4 + portAt replaced, checksums from scratch. */
  private rewrite(frame: Uint8Array, r: ParsedRef, addrAt: number, addr: number, portAt: number, port: number): NatOut {
    const out = Uint8Array.from(frame);
    const v = new DataView(out.buffer);
    const loose: number[] = [];
    v.setUint32(r.l3 + addrAt, addr);
    v.setUint16(r.l4 + portAt, port);
    // IPv4 header checksum.
    if (r.ipv4ChecksumOk === 1) {
      v.setUint16(r.l3 + 10, 0);
      v.setUint16(r.l3 + 10, checksum(out.subarray(r.l3, r.l3 + r.ipHeaderLen)));
    } else {
      loose.push(r.l3 + 10, r.l3 + 11);
    }
    // L4 checksum.
    const field = r.l4 + (r.l4Proto === TCP ? 16 : r.l4Proto === UDP ? 6 : 2);
    if (r.l4Proto === UDP && v.getUint16(field) === 0) return { data: out, loose, translated: true };
    if (r.l4ChecksumOk !== 1) {
      loose.push(field, field + 1);
      return { data: out, loose, translated: true };
    }
    const seg = out.subarray(r.l4, r.l4 + r.l4Len);
    v.setUint16(field, 0);
    let c: number;
    if (r.l4Proto === ICMP) {
      c = checksum(seg);
    } else {
      const pseudo = new Uint8Array(12 + seg.length);
      pseudo.set(out.subarray(r.l3 + 12, r.l3 + 20), 0);
      pseudo[9] = r.l4Proto;
      new DataView(pseudo.buffer).setUint16(10, seg.length);
      pseudo.set(seg, 12);
      c = checksum(pseudo);
      if (r.l4Proto === UDP && c === 0) c = 0xffff;
    }
    v.setUint16(field, c);
    return { data: out, loose, translated: true };
  }
}
