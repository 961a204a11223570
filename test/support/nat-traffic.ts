// Traffic for nat and its reference (test/nf-nat.test.ts, and the bench's fast TypeScript nat in
// test/bench-fast-nfs.test.ts): frame builders, and a random churn of flows.
import { NatReference, type NatConfig } from './nat-reference.js';
import { ETHERTYPE, ethernetFrame, icmpEcho, ipv4Packet, padFrame, tcpSegment, udpDatagram } from './packets.js';

export const WEB = '192.0.2.80', DNS = '198.51.100.53';

export const SYN = 0x02, ACK = 0x10, RST = 0x04, FIN = 0x01, PSH = 0x08;

export const tcp = (src: string, sport: number, dst: string, dport: number, flags = ACK, payload?: Uint8Array): Uint8Array =>
  padFrame(ethernetFrame({ etherType: ETHERTYPE.IPV4, payload: ipv4Packet({ src, dst, ttl: 64, protocol: 6, payload: tcpSegment({ srcPort: sport, dstPort: dport, flags, ...(payload && { payload }) }) }) }));
export const udp = (src: string, sport: number, dst: string, dport: number, payload?: Uint8Array, vlan = false): Uint8Array =>
  padFrame(ethernetFrame({
    etherType: ETHERTYPE.IPV4, ...(vlan && { vlans: [{ tpid: ETHERTYPE.VLAN, vid: 7 }] }),
    payload: ipv4Packet({ src, dst, ttl: 64, protocol: 17, payload: udpDatagram({ srcPort: sport, dstPort: dport, ...(payload && { payload }) }) }),
  }));
export const ping = (src: string, dst: string, id: number, reply = false): Uint8Array => {
  const msg = icmpEcho({ family: 4, id, seq: 1, payload: Uint8Array.from([1, 2, 3]) });
  if (reply) msg[0] = 0;
  return padFrame(ethernetFrame({ etherType: ETHERTYPE.IPV4, payload: ipv4Packet({ src, dst, ttl: 64, protocol: 1, payload: msg }) }));
};
/** A UDP datagram sent without a checksum (0). */
export const udpNoSum = (src: string, sport: number, dst: string, dport: number): Uint8Array => {
  const f = udp(src, sport, dst, dport, Uint8Array.from([9, 9, 9]));
  f[14 + 20 + 6] = 0;
  f[14 + 20 + 7] = 0;
  return f;
};

/** A deterministic random number generator (mulberry32): numbers in [0, 1). */
export function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** The churn's config: a small table and pool (203.0.113.4/30, 16 ports each). */
export const CHURN_CONFIG: NatConfig = { inside: '10.0.0.0/8', public_ip: '203.0.113.4/30', ports: '2000-2015', flows: 100 };

/** 4000 frames of 260 flows in random order: TCP with RSTs and FINs, UDP and pings, and replies to
 *  the mappings a reference of CHURN_CONFIG holds at that point (so most of them are translated),
 *  some to ports out of the range, from strangers, or to nothing. */
export function churnFrames(seed: number): Uint8Array[] {
  const rand = random(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const gen = new NatReference(CHURN_CONFIG);
  const dotted = (a: number): string => [a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255].join('.');
  const remotes = [WEB, DNS, '192.0.2.99'];
  const flows: { proto: number; src: string; sport: number; dst: string; dport: number }[] = [];
  for (let k = 0; k < 260; k++) {
    const proto = pick([6, 6, 17, 17, 1]);
    flows.push({ proto, src: `10.0.${k % 3}.${1 + (k % 7)}`, sport: 1000 + k, dst: pick(remotes), dport: proto === 1 ? 0 : pick([53, 80]) });
  }
  const flagsOf = (): number => {
    const r = rand();
    return r < 0.12 ? RST | ACK : r < 0.2 ? FIN | ACK : r < 0.3 ? SYN : ACK;
  };
  const frames: Uint8Array[] = [];
  for (let k = 0; k < 4000; k++) {
    const f = pick(flows);
    const r = rand();
    let frame: Uint8Array;
    if (r < 0.45) {
      frame = f.proto === 6 ? tcp(f.src, f.sport, f.dst, f.dport, flagsOf()) : f.proto === 17 ? udp(f.src, f.sport, f.dst, f.dport) : ping(f.src, f.dst, f.sport);
    } else {
      let port = gen.publicPort(f.proto, f.src, f.sport, f.dst, f.dport);
      let addr = gen.publicAddr(f.proto, f.src, f.sport, f.dst, f.dport);
      if (port === undefined || r > 0.9) {
        port = 2000 + Math.floor(rand() * 18); // 2016, 2017: out of the range
        addr = 0xcb007104 + Math.floor(rand() * 4);
      }
      const to = dotted(addr!);
      const from = rand() < 0.05 ? '192.0.2.98' : f.dst;
      const fport = rand() < 0.05 ? f.dport + 1 : f.dport;
      frame = f.proto === 6 ? tcp(from, fport, to, port, flagsOf()) : f.proto === 17 ? udp(from, fport, to, port) : ping(from, to, port, true);
    }
    gen.process(frame);
    frames.push(frame);
  }
  return frames;
}
