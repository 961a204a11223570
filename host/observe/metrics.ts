// The Prometheus view of a running data plane (GET /metrics on the control
// server). Nothing here touches the data path: every value is read at scrape
// time from counters the poll lcore and the workers already publish in shared
// memory (the same ones /v1/stats reads), and from the main thread's own
// event counts.
import { Counter, Gauge, Registry } from 'prom-client';
import type { ChainSummary, PortSummary } from './stats.js';
import type { ThreadCpu } from './threads.js';

/** Events kept for the dashboard (GET /v1/events). */
const RECENT_EVENTS = 50;

export interface RecentEvent {
  /** Date.now() of the event. */
  at: number;
  kind: string;
  outcome: string;
  text: string;
}

/** Events of the control plane and of fault handling: counted by kind and outcome, and the last few kept. */
export class EventCounts {
  readonly counts = new Map<string, { kind: string; outcome: string; n: number }>();
  readonly recent: RecentEvent[] = [];

  count(kind: string, outcome: string, text = `${kind}: ${outcome}`): void {
    const key = `${kind}\0${outcome}`;
    const e = this.counts.get(key);
    if (e === undefined) this.counts.set(key, { kind, outcome, n: 1 });
    else e.n++;
    this.recent.push({ at: Date.now(), kind, outcome, text });
    if (this.recent.length > RECENT_EVENTS) this.recent.shift();
  }
}

/** What a scrape reads. */
export interface MetricsSource {
  counters(): { ports: PortSummary[]; chains: ChainSummary[]; pool: { mbufs: number; available: number } };
  events: EventCounts;
  guests(): { nf: string; restarts: number; ready: boolean }[];
  /** Each worker CPU's loop: its turns, and those that found packets to run. */
  workerLoops(): { cpu: number; turns: number; workTurns: number }[];
  /** Each live replica's lane: packets handed to its worker and not yet back (in its rings or its hands). */
  lanes(): { chain: string; lane: number; inFlight: number }[];
  threads(): ThreadCpu[];
  /** Arrival-to-hand-back latency, when measured: counts per bucket, and each bucket's lower bound in ns. */
  latency(): { counts: BigUint64Array; lowNs: number[] } | undefined;
}

/** Latency histogram bounds, in seconds (Prometheus's `le`). */
const LATENCY_LE = [1e-6, 2e-6, 5e-6, 1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2];

/** Threads worth a series: the workers (netvm-worker<cpu>) and the poll lcore (EAL names it rte-worker-<lcore>). */
export const DATA_PLANE_THREAD = /^(netvm-worker|rte-worker)/;

/** NF drop reasons, from the chain's counters. */
const NF_DROPS = { verdict: 'dropped', bad_verdict: 'bad_verdict', bad_length: 'bad_length', trapped: 'trapped', hung: 'hung', failed: 'fail_dropped' } as const;
const PORT_DROPS = { tx_full: 'tx_full', multi_segment: 'rx_multiseg', ring_full: 'rx_ring_full', no_buffer: 'rx_nombuf', missed: 'rx_missed' } as const;

/** A counter whose value is read, not counted: each scrape sets it afresh. */
function readCounter<L extends string>(registry: Registry, name: string, help: string, labelNames: readonly L[], read: (set: (labels: Record<L, string>, value: number) => void) => void): void {
  new Counter({
    name, help, labelNames, registers: [registry],
    collect() {
      this.reset();
      read((labels, value) => this.inc(labels, value));
    },
  });
}

function readGauge<L extends string>(registry: Registry, name: string, help: string, labelNames: readonly L[], read: (set: (labels: Record<L, string>, value: number) => void) => void): void {
  new Gauge({
    name, help, labelNames, registers: [registry],
    collect() {
      this.reset();
      read((labels, value) => this.set(labels, value));
    },
  });
}

export class DataPlaneMetrics {
  private readonly registry = new Registry();
  private snapshot: ReturnType<MetricsSource['counters']> | undefined;

  constructor(private readonly source: MetricsSource) {
    const r = this.registry;
    const ports = (): PortSummary[] => this.snapshot!.ports;
    const chains = (): ChainSummary[] => this.snapshot!.chains;
    const nfs = function* (): Generator<[ChainSummary, ChainSummary['nfs'][number]]> {
      for (const c of chains()) for (const nf of c.nfs) yield [c, nf];
    };

    readCounter(r, 'netvm_port_rx_packets_total', 'Packets received from the port\'s device.', ['port'], (set) => ports().forEach((p) => set({ port: p.name }, p.rx)));
    readCounter(r, 'netvm_port_rx_bytes_total', 'Bytes received from the port\'s device.', ['port'], (set) => ports().forEach((p) => set({ port: p.name }, p.rx_bytes)));
    readCounter(r, 'netvm_port_tx_packets_total', 'Packets the port\'s device took to send.', ['port'], (set) => ports().forEach((p) => set({ port: p.name }, p.tx)));
    readCounter(r, 'netvm_port_tx_bytes_total', 'Bytes the port\'s device took to send.', ['port'], (set) => ports().forEach((p) => set({ port: p.name }, p.tx_bytes)));
    readCounter(r, 'netvm_port_dropped_packets_total', 'Packets dropped at the port: its TX queue full, a frame over one buffer, its chain\'s ring full; and before they were received, by the device: no free buffer in the pool, its RX queue full.', ['port', 'reason'], (set) => {
      for (const p of ports()) for (const [reason, key] of Object.entries(PORT_DROPS)) set({ port: p.name, reason }, p[key]);
    });
    readCounter(r, 'netvm_port_rx_held_seconds_total', 'Time the port was read for less than a burst, or not at all, because its chain\'s ring had no more room (backpressure): the chain was the bottleneck and the device kept the rest. Not a drop.', ['port'], (set) => ports().forEach((p) => set({ port: p.name }, p.rx_held_us / 1e6)));
    readCounter(r, 'netvm_port_rx_interrupt_wakes_total', 'How often the idle poll lcore, asleep on RX interrupts, was woken by the port\'s (net_tap, a PCI NIC under vfio-pci). Not a drop.', ['port'], (set) => ports().forEach((p) => set({ port: p.name }, p.rx_intr_wakes)));

    readCounter(r, 'netvm_chain_in_packets_total', 'Packets the chain took from its input port.', ['chain'], (set) => chains().forEach((c) => set({ chain: c.name }, c.in)));
    readCounter(r, 'netvm_chain_out_packets_total', 'Packets the chain sent to a port.', ['chain'], (set) => chains().forEach((c) => set({ chain: c.name }, c.out)));
    readCounter(r, 'netvm_chain_dropped_packets_total', 'Packets the chain dropped, every reason.', ['chain'], (set) => chains().forEach((c) => set({ chain: c.name }, c.dropped)));
    readCounter(r, 'netvm_chain_host_seconds_total', 'Worker time in the chain\'s own work (staging bursts, the parse, checking what each NF wrote), its NFs not included.', ['chain'], (set) => chains().forEach((c) => set({ chain: c.name }, c.host_ns / 1e9)));
    readGauge(r, 'netvm_chain_workers', 'Workers (replicas) the chain runs on.', ['chain'], (set) => chains().forEach((c) => set({ chain: c.name }, c.workers)));

    readCounter(r, 'netvm_nf_in_packets_total', 'Packets handed to the NF.', ['chain', 'nf'], (set) => {
      for (const [c, nf] of nfs()) set({ chain: c.name, nf: nf.name }, nf.in);
    });
    readCounter(r, 'netvm_nf_passed_packets_total', 'Packets the NF passed on: to the next NF, or out of a port.', ['chain', 'nf', 'to'], (set) => {
      for (const [c, nf] of nfs()) {
        set({ chain: c.name, nf: nf.name, to: 'next' }, nf.next);
        set({ chain: c.name, nf: nf.name, to: 'port' }, nf.out);
      }
    });
    readCounter(r, 'netvm_nf_dropped_packets_total', 'Packets dropped at the NF: its verdict, a bad verdict or length, a trap, a hang, its chain\'s fail policy.', ['chain', 'nf', 'reason'], (set) => {
      for (const [c, nf] of nfs()) for (const [reason, key] of Object.entries(NF_DROPS)) set({ chain: c.name, nf: nf.name, reason }, nf[key]);
    });
    readCounter(r, 'netvm_nf_failed_open_packets_total', 'Packets passed on unchanged because the NF had failed (fail open).', ['chain', 'nf'], (set) => {
      for (const [c, nf] of nfs()) set({ chain: c.name, nf: nf.name }, nf.fail_passed);
    });
    readCounter(r, 'netvm_nf_busy_seconds_total', 'Worker time on the NF\'s bursts: from the hand-over of a burst to the NF until the chain checks what it wrote (the call into the NF, and the messages delivered to it before).', ['chain', 'nf'], (set) => {
      for (const [c, nf] of nfs()) set({ chain: c.name, nf: nf.name }, nf.busy_ns / 1e9);
    });
    readCounter(r, 'netvm_nf_trap_bursts_total', 'Bursts in which the NF trapped.', ['chain', 'nf'], (set) => {
      for (const [c, nf] of nfs()) set({ chain: c.name, nf: nf.name }, nf.trap_batches);
    });
    readCounter(r, 'netvm_nf_messages_total', 'Messages between NFs (and from the operator): sent by the NF, received by it, dropped as it sent them (the receiver\'s mailbox full, no such receiver, no buffer free), and refused at its own full mailbox.', ['chain', 'nf', 'what'], (set) => {
      for (const [c, nf] of nfs()) {
        for (const [what, key] of [['sent', 'messages_sent'], ['received', 'messages_received'], ['dropped', 'messages_dropped'], ['mailbox_full', 'mailbox_full']] as const) {
          set({ chain: c.name, nf: nf.name, what }, nf[key]);
        }
      }
    });
    readGauge(r, 'netvm_nf_metric', 'An NF\'s own metric, as it defined it with the SDK (counter or gauge), summed over its replicas.', ['chain', 'nf', 'metric'], (set) => {
      for (const [c, nf] of nfs()) for (const [metric, v] of Object.entries(nf.metrics)) set({ chain: c.name, nf: nf.name, metric }, v);
    });

    readCounter(r, 'netvm_worker_loop_turns_total', 'Turns of a worker\'s loop over its chains: those that found packets, and those that found none (its idle share).', ['cpu', 'found'], (set) => {
      for (const w of source.workerLoops()) {
        set({ cpu: String(w.cpu), found: 'packets' }, w.workTurns);
        set({ cpu: String(w.cpu), found: 'nothing' }, w.turns - w.workTurns);
      }
    });
    readGauge(r, 'netvm_lane_in_flight_packets', 'Packets a chain replica\'s worker holds: in its ring or in its hands.', ['chain', 'lane'], (set) => {
      for (const l of source.lanes()) set({ chain: l.chain, lane: String(l.lane) }, l.inFlight);
    });
    readGauge(r, 'netvm_pool_mbufs', 'Packet buffers in the pool.', [], (set) => set({}, this.snapshot!.pool.mbufs));
    readGauge(r, 'netvm_pool_mbufs_in_use', 'Packet buffers out of the pool: in devices, rings, workers.', [], (set) => set({}, this.snapshot!.pool.mbufs - this.snapshot!.pool.available));
    readCounter(r, 'netvm_thread_cpu_seconds_total', 'CPU time of the data plane\'s threads (workers, poll lcore).', ['thread'], (set) => {
      for (const t of source.threads()) if (DATA_PLANE_THREAD.test(t.name)) set({ thread: t.name }, t.seconds);
    });
    readCounter(r, 'netvm_events_total', 'Control-plane and fault events: swaps, applies, scaling, NF restarts and failures, worker restarts.', ['kind', 'outcome'], (set) => {
      for (const e of source.events.counts.values()) set({ kind: e.kind, outcome: e.outcome }, e.n);
    });
    readCounter(r, 'netvm_guest_restarts_total', 'Times a vm NF\'s guest was booted again after it died.', ['nf'], (set) => source.guests().forEach((g) => set({ nf: g.nf }, g.restarts)));
    readGauge(r, 'netvm_guest_ready', 'Whether a vm NF\'s guest is up and taking packets (1) or not (0).', ['nf'], (set) => source.guests().forEach((g) => set({ nf: g.nf }, g.ready ? 1 : 0)));
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The text a scrape gets: one consistent reading of the counters. */
  async text(): Promise<string> {
    this.snapshot = this.source.counters();
    return (await this.registry.metrics()) + this.latencyText();
  }

  /** The poll lcore's latency histogram, regrouped on LATENCY_LE (a bucket counts where its middle falls). */
  private latencyText(): string {
    const l = this.source.latency();
    if (l === undefined) return '';
    const cumulative = LATENCY_LE.map(() => 0);
    let count = 0;
    let sum = 0;
    l.counts.forEach((c, i) => {
      const n = Number(c);
      if (n === 0) return;
      const seconds = (l.lowNs[i]! + l.lowNs[i + 1]!) / 2 / 1e9;
      count += n;
      sum += n * seconds;
      LATENCY_LE.forEach((le, k) => {
        if (seconds <= le) cumulative[k]! += n;
      });
    });
    return [
      '# HELP netvm_latency_seconds Arrival to hand-back of each sent packet (netvm run --latency), to about 6%.',
      '# TYPE netvm_latency_seconds histogram',
      ...LATENCY_LE.map((le, k) => `netvm_latency_seconds_bucket{le="${le}"} ${cumulative[k]}`),
      `netvm_latency_seconds_bucket{le="+Inf"} ${count}`,
      `netvm_latency_seconds_sum ${sum}`,
      `netvm_latency_seconds_count ${count}`,
      '',
    ].join('\n');
  }
}
