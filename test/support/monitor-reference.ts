// An independent reference of what nf-modules/monitor counts, over
// parse-reference's view of a frame: totals, and exact per-flow packets and
// bytes by canonical 5-tuple (both directions one flow).
import { parseRef } from './parse-reference.js';

export interface RefFlow {
  packets: number;
  bytes: number;
  proto: number;
  /** Index of the flow's first packet among all frames. */
  first: number;
}

export interface MonitorTotals {
  packets: number;
  bytes: number;
  ipPackets: number;
  nonIp: number;
  /** IP bytes: what the sketch counts. */
  ipBytes: number;
  /** By canonical key, in order of first packet. */
  flows: Map<string, RefFlow>;
  /** Each frame's flow key, null when not IP. */
  keys: (string | null)[];
}

/** A frame's canonical flow key, null when it does not parse as IP. */
export function flowKeyRef(frame: Uint8Array): { key: string; proto: number } | null {
  const r = parseRef(frame);
  if (r.ipVersion === 0) return null;
  const bytes = r.ipVersion === 4 ? 4 : 16;
  const srcAt = r.l3 + (r.ipVersion === 4 ? 12 : 8);
  const ported = r.l4 !== 0 && (r.l4Proto === 6 || r.l4Proto === 17);
  const port = (n: number): string => (ported ? n : 0).toString(16).padStart(4, '0');
  const a = `${Buffer.from(frame.subarray(srcAt, srcAt + bytes)).toString('hex')}:${port(r.srcPort)}`;
  const b = `${Buffer.from(frame.subarray(srcAt + bytes, srcAt + 2 * bytes)).toString('hex')}:${port(r.dstPort)}`;
  return { key: `${r.ipVersion}/${r.l4Proto}/${[a, b].sort().join('-')}`, proto: r.l4Proto };
}

export function monitorTotals(frames: Uint8Array[]): MonitorTotals {
  const t: MonitorTotals = { packets: 0, bytes: 0, ipPackets: 0, nonIp: 0, ipBytes: 0, flows: new Map(), keys: [] };
  frames.forEach((frame, i) => {
    t.packets++;
    t.bytes += frame.length;
    const k = flowKeyRef(frame);
    t.keys.push(k?.key ?? null);
    if (k === null) {
      t.nonIp++;
      return;
    }
    t.ipPackets++;
    t.ipBytes += frame.length;
    let flow = t.flows.get(k.key);
    if (flow === undefined) {
      flow = { packets: 0, bytes: 0, proto: k.proto, first: i };
      t.flows.set(k.key, flow);
    }
    flow.packets++;
    flow.bytes += frame.length;
  });
  return t;
}

/** The k largest flow byte counts, largest first. */
export function topBytes(t: MonitorTotals, k: number): number[] {
  return [...t.flows.values()].map((f) => f.bytes).sort((x, y) => y - x).slice(0, k);
}
