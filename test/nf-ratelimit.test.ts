// ratelimit, offline. The rate is tiny (refills between bursts are far below
// one packet), so what passes is exact: each bucket's first `burst` worth.
// Checked against a reference that keys buckets as the config says.
import t from 'tap';
import { join } from 'node:path';
import { runOffline } from '../host/chain/offline.js';
import { createNfInstance } from '../host/nf/instance.js';
import { NfModuleError, loadNfModule } from '../host/nf/module.js';
import { REPO_ROOT } from './support/fixtures.js';
import { ETHERTYPE, arpPacket, ethernetFrame, ipv4Packet, ipv6Packet, padFrame, udpDatagram } from './support/packets.js';
import { bucketOf, type Cfg } from './support/ratelimit-reference.js';

const module = loadNfModule(join(REPO_ROOT, 'nf-modules/build/ratelimit.wasm'));
const hex = (f: Uint8Array): string => Buffer.from(f).toString('hex');

const udp4 = (src: string, dst: string, sport: number, dport: number, size = 0): Uint8Array =>
  padFrame(ethernetFrame({ etherType: ETHERTYPE.IPV4, payload: ipv4Packet({ src, dst, ttl: 64, protocol: 17, payload: udpDatagram({ srcPort: sport, dstPort: dport, payload: new Uint8Array(size) }) }) }));
const udp6 = (src: string, dst: string): Uint8Array =>
  padFrame(ethernetFrame({ etherType: ETHERTYPE.IPV6, payload: ipv6Packet({ src, dst, hopLimit: 64, nextHeader: 17, payload: udpDatagram({ srcPort: 5, dstPort: 6 }) }) }));

function check(t: Tap.Test, cfg: Cfg, frames: Uint8Array[], what: string): void {
  const left = new Map<string, number>();
  const expected = frames.filter((f) => {
    const b = bucketOf(cfg, f);
    if (b === undefined) return true;
    const have = left.get(b) ?? cfg.burst;
    const cost = cfg.unit === 'bytes' ? f.length : 1;
    if (have < cost) return false;
    left.set(b, have - cost);
    return true;
  }).map(hex);
  const result = runOffline(frames, [{ name: 'rl', module, config: JSON.stringify(cfg) }], { log: () => {} });
  t.same(result.out.map((p) => hex(p.data)), expected, `${what}: the packets the buckets allow, in order`);
  t.equal(result.nfs[0]!.metrics['rate_limited'], frames.length - expected.length, `${what}: the rest counted`);
}

t.test('per flow, per source prefix, packets and bytes', async (t) => {
  const flows: Uint8Array[] = [];
  for (let round = 0; round < 7; round++) {
    for (let f = 0; f < 10; f++) {
      // Even rounds one way, odd rounds back: both directions share the flow's bucket.
      flows.push(round % 2 === 0 ? udp4(`10.0.0.${f}`, '192.0.2.1', 1000 + f, 53) : udp4('192.0.2.1', `10.0.0.${f}`, 53, 1000 + f));
    }
  }
  check(t, { rate: 0.001, burst: 3 }, flows, 'per flow');
  check(t, { per: 'source', prefix_v4: 24, rate: 0.001, burst: 4 }, flows, 'per source /24');
  check(t, { per: 'source', rate: 0.001, burst: 2 }, flows, 'per source /32');
  const sized = [300, 300, 300, 300, 100, 64].map((s) => udp4('10.0.0.1', '192.0.2.1', 7, 7, s));
  check(t, { unit: 'bytes', rate: 0.001, burst: 1000 }, sized, 'bytes');
  const v6 = ['2001:db8:0:1::1', '2001:db8:0:1::2', '2001:db8:0:2::1'].flatMap((s) => [udp6(s, '2001:db8::9'), udp6(s, '2001:db8::9')]);
  check(t, { per: 'source', rate: 0.001, burst: 2 }, v6, 'per source /64 (IPv6)');
  const arp = padFrame(ethernetFrame({ etherType: ETHERTYPE.ARP, payload: arpPacket({ op: 1, senderMac: '02:00:00:00:00:01', senderIp: '10.0.0.1', targetMac: '00:00:00:00:00:00', targetIp: '10.0.0.2' }) }));
  check(t, { rate: 0.001, burst: 1 }, [arp, arp, arp], 'non-IP is not limited');
  // The clock is read once per burst (256 packets offline): no time passes
  // within one, and between two a rate of 1e12/s refills any bucket.
  const stream = Array.from({ length: 600 }, () => udp4('10.0.0.1', '192.0.2.1', 7, 7));
  const fast = runOffline(stream, [{ name: 'rl', module, config: JSON.stringify({ rate: 1e12, burst: 1 }) }], { log: () => {} });
  t.equal(fast.out.length, 3, 'one packet per burst: the bucket refills between bursts, not within one');
});

t.test('bad configs are refused with the field named', async (t) => {
  const refused = (config: unknown): string => {
    try {
      createNfInstance(module, 'rl', { config: JSON.stringify(config), log: () => {} });
      return 'accepted';
    } catch (err) {
      return err instanceof NfModuleError ? err.message.replace(/^.*refused its config \(status 1\): /, '') : String(err);
    }
  };
  t.equal(refused({ burst: 1 }), 'config: rate: required');
  t.match(refused({ rate: 0, burst: 1 }), 'config: rate: must be');
  t.match(refused({ rate: 1, burst: 0.5 }), 'config: burst: must be');
  t.equal(refused({ rate: 1, burst: 1, per: 'host' }), 'config: per: must be one of: flow, source');
  t.match(refused({ rate: 1, burst: 1, prefix_v4: 33 }), 'config: prefix_v4: must be an integer from 0 to 32');
  t.match(refused({ rate: 1, burst: 1, colour: 'red' }), 'config: colour: unknown key');
});
