// Packet captures of a running data plane (netvm capture): the main thread's
// half. A capture attaches a point at its hop (native-dpdk/capture.c: one per
// port, or one per lane of the chain for a link between two NFs), drains the
// points' rings into a pcap file every few milliseconds, and ends after its
// count, or when stopped. The data path never waits for it: what finds a ring
// full is counted as missed.
import { closeSync, openSync, writeSync } from 'node:fs';
import { addressOf, check, native } from '../dataplane/native.js';
import { serializePcap, type PcapPacketInput } from '../pcap/index.js';

/** enum of capture hops (netvm_dp.h). */
const HOP_RX = 0;
const HOP_TX = 1;
const HOP_LINK = 2;
/** struct nv_capture_ring: its header, and where its fields are (in u32s). */
const RING_HDR = 192;
const HEAD = 0;
const TAIL = 16;
const MASK = 32;
const SLOT_BYTES = 33;
const SLOT_HDR = 16;
const RING_SLOTS = 1024;
export const MAX_SNAPLEN = 2048;
const DRAIN_MS = 10;
/** How long a hop's thread may still be in a burst after its point is detached. */
const DETACH_GRACE_MS = 50;

/** Where a capture looks, as resolved against the running data plane. */
export interface HopPoints {
  /** What the user asked for, as given. */
  text: string;
  /** The native hops: (kind, a, b) each. */
  points: [kind: number, a: number, b: number][];
}

/** What a hop can name: ports (by index: their DPDK ids), and for a link, the lanes of the chain and the first NF's position. */
export interface HopWorld {
  ports: { name: string; id: number }[];
  /** The NF called `from` and the next one in its chain, if `to` is that: the chain's lanes and `from`'s position. */
  link(from: string, to: string): { lanes: number[]; position: number } | string;
}

/** `rx:<port>`, `tx:<port>`, or `<nf>-><next nf>`; a string is why not. */
export function resolveHop(text: string, world: HopWorld): HopPoints | string {
  const port = /^(rx|tx):(.+)$/.exec(text);
  if (port) {
    const p = world.ports.find((x) => x.name === port[2]);
    if (p === undefined) return `no port named '${port[2]}' (ports: ${world.ports.map((x) => x.name).join(', ')})`;
    return { text, points: [[port[1] === 'rx' ? HOP_RX : HOP_TX, p.id, 0]] };
  }
  const link = /^([^>]+)->(.+)$/.exec(text);
  if (link) {
    const found = world.link(link[1]!, link[2]!);
    if (typeof found === 'string') return found;
    return { text, points: found.lanes.map((lane): [number, number, number] => [HOP_LINK, lane, found.position]) };
  }
  return `'${text}' is not a hop: rx:<port>, tx:<port>, or <nf>-><next nf>`;
}

export interface CaptureOptions {
  file: string;
  /** Stop after this many packets (none: until stopped). */
  count?: number;
  snaplen: number;
  /** A pcap filter expression (tcpdump's syntax); empty: every packet. */
  filter: string;
}

interface Point {
  hop: [number, number, number];
  id: number;
  ring: SharedArrayBuffer;
  words: Uint32Array;
  bytes: Uint8Array;
  view: DataView;
}

export interface CaptureStatus {
  id: number;
  hop: string;
  file: string;
  written: number;
  missed: number;
  done: boolean;
}

export class Capture {
  written = 0;
  private missedAtDetach = 0;
  done = false;
  private stopping: Promise<void> | undefined;
  private readonly fd: number;
  private readonly points: Point[] = [];

  /** Attaches at every point of the hop (none if one fails: the reason is thrown). */
  constructor(readonly id: number, readonly hop: HopPoints, readonly opts: CaptureOptions) {
    const slotBytes = Math.ceil((SLOT_HDR + opts.snaplen) / 8) * 8;
    const lib = native();
    try {
      for (const point of hop.points) {
        const ring = new SharedArrayBuffer(RING_HDR + RING_SLOTS * slotBytes);
        const pid = check(lib.captureAttach(point[0], point[1], point[2], addressOf(ring), ring.byteLength, opts.snaplen, opts.filter));
        this.points.push({ hop: point, id: pid, ring, words: new Uint32Array(ring, 0, RING_HDR / 4), bytes: new Uint8Array(ring), view: new DataView(ring) });
      }
    } catch (err) {
      for (const p of this.points) this.detach(p);
      throw err;
    }
    this.fd = openSync(opts.file, 'w');
    writeSync(this.fd, serializePcap([], { nanosecond: true, snapLen: opts.snaplen }));
  }

  /** Writes what the rings hold (up to the count); true once the capture is complete. */
  drain(): boolean {
    if (this.done) return true;
    const batch: PcapPacketInput[] = [];
    for (const p of this.points) {
      const mask = p.words[MASK]!;
      const slotBytes = p.words[SLOT_BYTES]!;
      const head = Atomics.load(p.words, HEAD);
      let tail = p.words[TAIL]!;
      for (; tail !== head && !this.full(batch.length); tail = (tail + 1) >>> 0) {
        const at = RING_HDR + (tail & mask) * slotBytes;
        const capLen = p.view.getUint32(at + 12, true);
        batch.push({ tsNs: p.view.getBigUint64(at, true), origLen: p.view.getUint32(at + 8, true), data: p.bytes.slice(at + SLOT_HDR, at + SLOT_HDR + capLen) });
      }
      Atomics.store(p.words, TAIL, tail);
    }
    // Points of one hop (a chain's lanes) each keep their order; merged by time.
    if (this.points.length > 1) batch.sort((a, b) => (a.tsNs! < b.tsNs! ? -1 : a.tsNs! > b.tsNs! ? 1 : 0));
    if (batch.length > 0) {
      writeSync(this.fd, serializePcap(batch, { nanosecond: true, snapLen: this.opts.snaplen }).subarray(24));
      this.written += batch.length;
    }
    return this.full(0);
  }

  private full(pending: number): boolean {
    return this.opts.count !== undefined && this.written + pending >= this.opts.count;
  }

  get missed(): number {
    return this.done ? this.missedAtDetach : this.points.reduce((n, p) => n + Number(native().captureMissed(p.id)), 0);
  }

  /** Detaches every point, lets the hops' threads leave them, writes what is left, closes the file. */
  stop(): Promise<void> {
    this.stopping ??= this.end();
    return this.stopping;
  }

  private async end(): Promise<void> {
    const lib = native();
    for (const p of this.points) this.missedAtDetach += Math.max(0, Number(lib.captureDetach(p.hop[0], p.hop[1], p.hop[2])));
    await new Promise((r) => setTimeout(r, DETACH_GRACE_MS));
    this.drain();
    for (const p of this.points) check(lib.captureRelease(p.id));
    this.done = true;
    closeSync(this.fd);
  }

  private detach(p: Point): void {
    const lib = native();
    lib.captureDetach(p.hop[0], p.hop[1], p.hop[2]);
    lib.captureRelease(p.id);
  }

  status(): CaptureStatus {
    return { id: this.id, hop: this.hop.text, file: this.opts.file, written: this.written, missed: this.missed, done: this.done };
  }
}

/** The captures of a run: started, drained on a timer, stopped by count or by hand. */
export class Captures {
  private readonly all = new Map<number, Capture>();
  private nextId = 1;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly world: HopWorld) {}

  start(hopText: string, opts: CaptureOptions): CaptureStatus | string {
    const hop = resolveHop(hopText, this.world);
    if (typeof hop === 'string') return hop;
    let capture: Capture;
    try {
      capture = new Capture(this.nextId++, hop, opts);
    } catch (err) {
      return (err as Error).message;
    }
    this.all.set(capture.id, capture);
    this.timer ??= setInterval(() => this.drainAll(), DRAIN_MS);
    return capture.status();
  }

  get(id: number): Capture | undefined {
    return this.all.get(id);
  }

  private drainAll(): void {
    for (const c of this.all.values()) if (!c.done && c.drain()) void c.stop();
  }

  /** Stops every capture (the run ends). */
  async stopAll(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all([...this.all.values()].map((c) => c.stop()));
  }
}
