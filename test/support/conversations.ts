// Two-way traffic for steering tests: conversations whose packets go both
// ways, so that a stateful firewall passes replies only where it saw the flow
// go out, plus unsolicited probes from outside that it drops.
import { ETHERTYPE, ethernetFrame, ipv4Packet, ipv6Packet, padFrame, tcpSegment, udpDatagram } from './packets.js';
import { FirewallReference, type FwConfig } from './firewall-reference.js';

const hex = (f: Uint8Array): string => Buffer.from(f).toString('hex');

/** Conversations: each flow's packets both ways, flows interleaved; each
 *  packet unique (its sequence number in the payload). Also unsolicited
 *  packets from outside, which a stateful firewall drops. */
export function conversations(): { frames: Uint8Array[]; flowOf: Map<string, number> } {
  const frames: Uint8Array[] = [];
  const flowOf = new Map<string, number>();
  const FLOWS = 120;
  const payload = (flow: number, seq: number): Uint8Array => Uint8Array.from([flow >> 8, flow & 255, seq, 0xab]);
  const v4 = (src: string, dst: string, l4: Uint8Array, protocol: number, vlan: boolean): Uint8Array =>
    padFrame(ethernetFrame({ etherType: ETHERTYPE.IPV4, ...(vlan && { vlans: [{ tpid: ETHERTYPE.VLAN, vid: 7 }] }), payload: ipv4Packet({ src, dst, ttl: 64, protocol, payload: l4 }) }));
  const v6 = (src: string, dst: string, l4: Uint8Array): Uint8Array =>
    padFrame(ethernetFrame({ etherType: ETHERTYPE.IPV6, payload: ipv6Packet({ src, dst, hopLimit: 64, nextHeader: 17, payload: l4 }) }));
  const TCP_FLAGS = [0x02, 0x12, 0x10, 0x18, 0x18, 0x18]; // SYN out, SYN-ACK in, ACK out, data both ways
  for (let seq = 0; seq < TCP_FLAGS.length; seq++) {
    for (let f = 0; f < FLOWS; f++) {
      const out = seq % 2 === 0;
      const inside = { v4: `10.0.${f >> 8}.${f & 255}`, v6: `2001:db8::${f.toString(16)}`, port: 10000 + f };
      const far = { v4: `198.51.100.${f % 7}`, v6: '2001:db8:1::1', port: f % 3 === 0 ? 80 : 53 };
      const [sp, dp] = out ? [inside.port, far.port] : [far.port, inside.port];
      const body = payload(f, seq);
      let frame: Uint8Array;
      if (f % 3 === 0) {
        const l4 = tcpSegment({ srcPort: sp, dstPort: dp, flags: TCP_FLAGS[seq]!, payload: body });
        frame = out ? v4(inside.v4, far.v4, l4, 6, false) : v4(far.v4, inside.v4, l4, 6, false);
      } else if (f % 3 === 1) {
        const l4 = udpDatagram({ srcPort: sp, dstPort: dp, payload: body });
        frame = out ? v4(inside.v4, far.v4, l4, 17, f % 2 === 0) : v4(far.v4, inside.v4, l4, 17, f % 2 === 0);
      } else {
        const l4 = udpDatagram({ srcPort: sp, dstPort: dp, payload: body });
        frame = out ? v6(inside.v6, far.v6, l4) : v6(far.v6, inside.v6, l4);
      }
      frames.push(frame);
      flowOf.set(hex(frame), f);
      if (f % 10 === 0) {
        // Unsolicited, from outside: no flow of its own here.
        const probe = v4(`203.0.113.${f % 250}`, inside.v4, udpDatagram({ srcPort: 4444, dstPort: 5555 + seq, payload: body }), 17, false);
        frames.push(probe);
        flowOf.set(hex(probe), FLOWS + f);
      }
    }
  }
  return { frames, flowOf };
}


/** Packets (hex) grouped by their flow, each flow's in the order given. */
export function byFlow(list: string[], flowOf: Map<string, number>): Map<number, string[]> {
  const flows = new Map<number, string[]>();
  for (const h of list) flows.set(flowOf.get(h)!, [...(flows.get(flowOf.get(h)!) ?? []), h]);
  return flows;
}

/** The conversations through a stateful firewall that lets the inside start flows: its config,
 *  and what the independent reference lets through (hex), in order. */
export function statefulConversations(): { fw: FwConfig; frames: Uint8Array[]; flowOf: Map<string, number>; expected: string[] } {
  const fw: FwConfig = {
    default: 'deny', stateful: true,
    rules: [{ action: 'allow', src: '10.0.0.0/8' }, { action: 'allow', src: '2001:db8::/48' }],
  };
  const { frames, flowOf } = conversations();
  const ref = new FirewallReference(fw);
  return { fw, frames, flowOf, expected: frames.filter((f) => ref.decide(f)).map(hex) };
}
