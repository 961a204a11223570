// The data plane as the main thread drives it: EAL, pool, ports and lanes in
// the C library, then the poll loop; and the way down again, in an order that
// loses no packet and leaves nothing behind.
import { rmdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { POLL_LCORE } from '../config/eal-args.js';
import { addressOf, check, laneStats, native, poolCreate, poolMessageSlots, portStats, type LaneCounters, type PoolInfo, type PortCounters } from './native.js';
import { allocRing, ringSize } from './ring.js';
import { allocDoorbell, doorbellAt, ringDoorbell } from './doorbell.js';

/** RX and TX descriptors of each port's queues (a NIC keeps its RX ring filled with mbufs). */
export const PORT_DESCRIPTORS = 1024;

/** Removes EAL's runtime directory, and its parent (/var/run/dpdk) if that is left empty. */
export function removeRuntimeDir(dir: string): void {
  if (dir === '') return;
  rmSync(dir, { recursive: true, force: true });
  try {
    rmdirSync(dirname(dir));
  } catch {
    // Not empty: other DPDK processes use it.
  }
}

export interface DataPlaneSpec {
  ealArgs: string[];
  mbufs: number;
  hugepages: boolean;
  ports: { name: string; devargs: string }[];
  /** The poll lcore's longest nap once idle (native-dpdk/idle.c); 0: busy polling, and workers never sleep. */
  maxNapUs: number;
}

/** Buckets of an input port's flow-steering table (NV_STEER_BUCKETS). */
export const STEER_BUCKETS = 256;

export interface LaneRings {
  id: number;
  rx: SharedArrayBuffer;
  ret: SharedArrayBuffer;
}

export class DataPlane {
  readonly pool: PoolInfo;
  /** The pool's message slots (host/chain/mailroom.ts), shared out among the workers. */
  readonly messageSlots: Int32Array;
  /** DPDK port id of each port, in config order. */
  readonly portIds: number[] = [];
  /** Each live lane's rings: they must outlive the poll loop's use of them. */
  private readonly rings = new Map<number, SharedArrayBuffer[]>();
  /** Each worker CPU's doorbell (adaptive polling): kept as long as the poll loop may ring it. */
  private readonly doorbells = new Map<number, SharedArrayBuffer>();
  private state: 'open' | 'polling' | 'stopped' | 'closed' = 'open';

  /** Starts EAL and builds pool and ports; on failure everything is undone before the error is thrown. */
  static open(spec: DataPlaneSpec): DataPlane {
    const ret = native().ealInit(spec.ealArgs.length, spec.ealArgs);
    const runtimeDir = native().ealRuntimeDir() as string;
    if (ret < 0) {
      removeRuntimeDir(runtimeDir);
      check(ret);
    }
    // A forced exit (a second Ctrl-C) skips close(): the kernel frees EAL's
    // memory, but its runtime folder would stay.
    const onExit = (): void => removeRuntimeDir(runtimeDir);
    process.once('exit', onExit);
    try {
      return new DataPlane(spec, runtimeDir, onExit);
    } catch (err) {
      process.off('exit', onExit);
      native().shutdown();
      removeRuntimeDir(runtimeDir);
      throw err;
    }
  }

  /** Whether workers may sleep (adaptive polling). */
  private readonly sleeps: boolean;

  private constructor(spec: DataPlaneSpec, private readonly runtimeDir: string, private readonly onExit: () => void) {
    check(native().pollIdle(spec.maxNapUs));
    this.sleeps = spec.maxNapUs > 0;
    this.pool = poolCreate(spec.mbufs, spec.hugepages);
    this.messageSlots = poolMessageSlots();
    for (const port of spec.ports) {
      const id = native().portAdd(port.devargs, PORT_DESCRIPTORS, PORT_DESCRIPTORS);
      if (id < 0) throw new Error(`ports.${port.name} (${port.devargs}): ${native().lastError() as string}`);
      this.portIds.push(id);
    }
  }

  /** A lane: a pair of rings to one worker; input ports are steered to it with
   *  route() or steer(). Lanes can be added while the poll loop runs. */
  addLane(cpu: number): LaneRings {
    const rx = allocRing();
    const ret = allocRing();
    const bell = this.doorbell(cpu);
    const id = check(native().laneAdd(addressOf(rx), addressOf(ret), ringSize(rx), bell === undefined ? 0n : doorbellAt(bell).address));
    this.rings.set(id, [rx, ret]);
    return { id, rx, ret };
  }

  /** The doorbell of the worker on this CPU; undefined under busy polling (workers never sleep). */
  doorbell(cpu: number): SharedArrayBuffer | undefined {
    if (!this.sleeps) return undefined;
    let bell = this.doorbells.get(cpu);
    if (bell === undefined) this.doorbells.set(cpu, (bell = allocDoorbell()));
    return bell;
  }

  /** Wakes every sleeping worker (to stop, say). */
  ringDoorbells(): void {
    for (const bell of this.doorbells.values()) ringDoorbell(bell);
  }

  /** Takes a drained lane that no port steers to out of the poll loop; its id may be reused. */
  retireLane(id: number): void {
    check(native().laneRetire(id));
    this.rings.delete(id);
  }

  route(portIndex: number, lane: number): void {
    check(native().routePort(this.portIds[portIndex]!, lane));
  }

  /** Stops reading an input port (its chain is gone); returns once the poll loop has. */
  unroute(portIndex: number): void {
    check(native().unroutePort(this.portIds[portIndex]!));
  }

  /** RX queues of a port: more than one where its device spreads flows over them by a
   *  symmetric hash (the NIC's RSS, af_packet's fanout), one otherwise. */
  rxQueues(portIndex: number): number {
    return check(native().portRxQueues(this.portIds[portIndex]!));
  }

  /** Steers an input port's packets by flow: bucket i of the symmetric flow hash (on a port of
   *  several RX queues: queue i) to lane table[i]. Returns once the poll loop no longer uses the old table. */
  steer(portIndex: number, table: Uint16Array): void {
    check(native().steerPort(this.portIds[portIndex]!, table));
    check(native().pollSync());
  }

  /** Records every sent packet's time from arrival to hand-back (call before start). */
  enableLatency(): void {
    check(native().latencyEnable());
  }

  /** Lets packets arrive at the input ports together at pps (call before start): those the poll
   *  lcore is late for wait, as in an RX ring of the ports' size, and their latency counts the wait. */
  paceRx(pps: number): void {
    check(native().paceRx(pps, PORT_DESCRIPTORS));
  }

  /** Rewrites received IPv4 packets' sources to cycle through n flows (call before start). */
  rxFlows(n: number): void {
    check(native().rxFlows(n));
  }

  /** The latency histogram's bucket counts so far (see latency.ts). */
  latencyCounts(): BigUint64Array {
    const n = native().latencyHistogram(new BigUint64Array(0), 0);
    const out = new BigUint64Array(n);
    native().latencyHistogram(out, n);
    return out;
  }

  start(): void {
    check(native().pollStart(POLL_LCORE));
    this.state = 'polling';
  }

  portCounters(portIndex: number): PortCounters {
    return portStats(this.portIds[portIndex]!);
  }

  laneCounters(lane: number): LaneCounters {
    return laneStats(lane);
  }

  /** Stops receiving; packets already in workers' hands still come back and go out. */
  drain(): void {
    native().pollDrain();
  }

  /** Packets received on every port so far: one call into C that reads NetVM's own counters. */
  rxTotal(): number {
    return Number(native().portsRx());
  }

  inFlight(): number {
    return Number(native().pollInFlight());
  }

  /** Mbufs free in the pool now (those not in a port's rings or a worker's hands). */
  poolAvailable(): number {
    return native().poolAvailable() as number;
  }

  /** Ends the poll loop and closes the ports; returns the mbufs free in the pool after. */
  stop(): number {
    if (this.state === 'open' || this.state === 'polling') {
      check(native().stop());
      this.state = 'stopped';
    }
    return native().poolAvailable() as number;
  }

  close(): void {
    if (this.state === 'closed') return;
    native().shutdown();
    removeRuntimeDir(this.runtimeDir);
    process.off('exit', this.onExit);
    this.state = 'closed';
  }
}
