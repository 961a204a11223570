// The koffi binding to native-dpdk/build/libnetvm_dp.so: one declaration per C
// function of netvm_dp.h, and an error type that carries the library's message.
import { POOL_MESSAGE_SLOTS } from './pool-layout.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../paths.js';
import koffi from 'koffi';

export const LIBRARY_PATH = join(PROJECT_ROOT, 'native-dpdk/build/libnetvm_dp.so');

export interface PoolInfo {
  len: number;
  page_size: number;
  n_mbufs: number;
  elt_size: number;
  headroom: number;
  data_room: number;
  hugepages: number;
  /** How a device's DMA reaches the buffers: POOL_IOVA_NONE, _PA or _VA (native-dpdk/netvm_dp.h). */
  iova: number;
}

export const POOL_IOVA_NONE = 0;
export const POOL_IOVA_PA = 1;
export const POOL_IOVA_VA = 2;
/** POOL_IOVA_* as a run's summary names them. */
export const POOL_IOVA_NAMES = ['none', 'pa', 'va'] as const;

export interface PortCounters {
  rx: number;
  rx_bytes: number;
  tx: number;
  tx_bytes: number;
  tx_full: number;
  rx_multiseg: number;
  rx_ring_full: number;
  /** Frames the device dropped before netvm saw them (not in rx): no free mbuf, its RX queue full. */
  rx_nombuf: number;
  rx_missed: number;
  /** Not a drop: how long (us) the port was read for less than a burst because its chain's ring had no more room (the device kept the rest). */
  rx_held_us: number;
  /** Not a drop: how often the idle poll lcore, asleep on RX interrupts, was woken by this port's. */
  rx_intr_wakes: number;
}

export interface LaneCounters {
  in: number;
  returned: number;
  dropped: number;
  bad_desc: number;
}

export class NativeError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
    this.name = 'NativeError';
  }
}

koffi.struct('nv_pool_info', {
  len: 'uint64_t',
  page_size: 'uint64_t',
  n_mbufs: 'uint32_t',
  elt_size: 'uint32_t',
  headroom: 'uint32_t',
  data_room: 'uint32_t',
  hugepages: 'uint32_t',
  iova: 'uint32_t',
});
koffi.struct('nv_port_stats', {
  rx: 'uint64_t',
  rx_bytes: 'uint64_t',
  tx: 'uint64_t',
  tx_bytes: 'uint64_t',
  tx_full: 'uint64_t',
  rx_multiseg: 'uint64_t',
  rx_ring_full: 'uint64_t',
  rx_nombuf: 'uint64_t',
  rx_missed: 'uint64_t',
  rx_held_us: 'uint64_t',
  rx_intr_wakes: 'uint64_t',
});
koffi.struct('nv_lane_stats', {
  in: 'uint64_t',
  returned: 'uint64_t',
  dropped: 'uint64_t',
  bad_desc: 'uint64_t',
});

function load() {
  if (!existsSync(LIBRARY_PATH)) {
    throw new Error(`${LIBRARY_PATH} is missing: run scripts/setup (or make -C native-dpdk)`);
  }
  const lib = koffi.load(LIBRARY_PATH);
  return {
    lastError: lib.func('const char *nv_last_error(void)'),
    ealInit: lib.func('int nv_eal_init(int argc, const char **argv)'),
    ealRuntimeDir: lib.func('const char *nv_eal_runtime_dir(void)'),
    poolCreate: lib.func('int nv_pool_create(uint32_t n_mbufs, int want_huge, _Out_ nv_pool_info *info)'),
    // Addresses cross as integers: they point into Wasm memories and SharedArrayBuffers.
    poolMap: lib.func('int nv_pool_map(uintptr_t addr)'),
    poolCreatePlain: lib.func('int nv_pool_create_plain(uint32_t n_slots, int want_huge, _Out_ nv_pool_info *info)'),
    poolDestroy: lib.func('int nv_pool_destroy(void)'),
    poolSlotIo: lib.func('int nv_pool_slot_io(uint32_t slot, _Out_ uintptr_t *addr, _Out_ uint64_t *iova)') as
      (slot: number, addr: [number | bigint | null], iova: [number | bigint | null]) => number,
    poolAvailable: lib.func('uint32_t nv_pool_available(void)'),
    poolMessageSlots: lib.func('uint32_t nv_pool_message_slots(_Out_ uint32_t *out, uint32_t max)') as (out: Uint32Array, max: number) => number,
    adviseHugepages: lib.func('int nv_advise_hugepages(uintptr_t addr, uint64_t len)'),
    discard: lib.func('int nv_discard(uintptr_t addr, uint64_t len)'),
    scrub: lib.func('int64_t nv_scrub(uintptr_t addr, uint64_t len, uint64_t max_zero)'),
    portAdd: lib.func('int nv_port_add(const char *devargs, uint16_t n_rxd, uint16_t n_txd)'),
    portStats: lib.func('int nv_port_stats(uint16_t port, _Out_ nv_port_stats *out)'),
    portRxQueues: lib.func('int nv_port_rx_queues(uint16_t port)') as (port: number) => number,
    laneAdd: lib.func('int nv_lane_add(uintptr_t rx_ring, uintptr_t ret_ring, uint32_t size, uintptr_t bell)'),
    laneStats: lib.func('int nv_lane_stats(uint16_t lane, _Out_ nv_lane_stats *out)'),
    laneRetire: lib.func('int nv_lane_retire(uint16_t lane)'),
    routePort: lib.func('int nv_route_port(uint16_t port, uint16_t lane)'),
    unroutePort: lib.func('int nv_unroute_port(uint16_t port)'),
    steerPort: lib.func('int nv_steer_port(uint16_t port, const uint16_t *table)'),
    chainInit: lib.func(
      'int nv_chain_init(uint16_t id, uintptr_t rx_ring, uintptr_t ret_ring, uint32_t ring_size, uintptr_t counters, uint16_t to_port, const uint16_t *port_ids, uint16_t n_ports)',
    ),
    chainAddNf: lib.func('int nv_chain_add_nf(uint16_t id, uintptr_t records, uint32_t record_bytes, int reads_meta, uint32_t max_burst, uintptr_t private_area, uintptr_t clock)'),
    /** The chain's parse of a packet into an ABI v2 meta (native-dpdk/parse.c): what a v2 NF finds in its records. */
    parse: lib.func('void nv_parse(uintptr_t pkt, uint32_t len, uintptr_t meta)') as (pkt: bigint, len: number, meta: bigint) => void,
    chainRunning: lib.func('int nv_chain_running(uint16_t id)') as (id: number) => number,
    chainTicking: lib.func('int nv_chain_ticking(uint16_t id, int k)') as (id: number, k: number) => number,
    chainAbort: lib.func('uint32_t nv_chain_abort(uint16_t id)') as (id: number) => number,
    chainDiscard: lib.func('uint32_t nv_chain_discard(uint16_t id)') as (id: number) => number,
    chainSetClock: lib.func('int nv_chain_set_clock(uint16_t id, uint64_t now_ns)') as (id: number, nowNs: bigint) => number,
    chainSetNf: lib.func('int nv_chain_set_nf(uint16_t id, uint16_t k, uintptr_t records, uint32_t record_bytes, int reads_meta, uint32_t max_burst, uintptr_t private_area, uintptr_t clock)'),
    chainBegin: lib.func('uint32_t nv_chain_begin(uint16_t id)') as (id: number) => number,
    chainAfter: lib.func('uint32_t nv_chain_after(uint16_t id, uint16_t k, int status)') as (id: number, k: number, status: number) => number,
    latencyEnable: lib.func('int nv_latency_enable(void)'),
    latencyHistogram: lib.func('uint32_t nv_latency_histogram(_Out_ uint64_t *out, uint32_t n)') as (out: BigUint64Array, n: number) => number,
    latencyBucketLow: lib.func('uint64_t nv_latency_bucket_low(uint32_t i)') as (i: number) => bigint | number,
    // The histogram's address as a number (user addresses fit in 53 bits): one call a turn, no BigInt.
    turnMark: lib.func('void nv_turn_mark(uintptr_t gaps)') as (gaps: number) => void,
    tscHz: lib.func('uint64_t nv_tsc_hz(void)') as () => bigint | number,
    paceRx: lib.func('int nv_pace_rx(double pps, uint32_t backlog)'),
    rxFlows: lib.func('int nv_rx_flows(uint32_t n)'),
    captureAttach: lib.func('int nv_capture_attach(int kind, uint16_t a, uint16_t b, uintptr_t ring, uint32_t ring_bytes, uint32_t snaplen, const char *filter)'),
    captureDetach: lib.func('int64_t nv_capture_detach(int kind, uint16_t a, uint16_t b)') as (kind: number, a: number, b: number) => number | bigint,
    captureRelease: lib.func('int nv_capture_release(int id)'),
    captureMissed: lib.func('uint64_t nv_capture_missed(int id)') as (id: number) => number | bigint,
    vmMap: lib.func('void *nv_vm_map(const char *path)') as (path: string) => bigint | null,
    vmUnmap: lib.func('int nv_vm_unmap(uintptr_t base)'),
    vmReset: lib.func('int nv_vm_reset(uintptr_t base, const char *config, uint32_t len)'),
    vmGuestState: lib.func('uint32_t nv_vm_guest_state(uintptr_t base)') as (base: bigint) => number,
    vmBoots: lib.func('uint32_t nv_vm_boots(uintptr_t base)') as (base: bigint) => number,
    vmError: lib.func('const char *nv_vm_error(uintptr_t base)') as (base: bigint) => string,
    vmRun: lib.func('int nv_vm_run(uintptr_t base, uint32_t count, uint64_t timeout_ns)') as (base: bigint, count: number, timeoutNs: number) => number,
    vmMessage: lib.func('int nv_vm_message(uintptr_t base, uint32_t len, int32_t from, uint64_t timeout_ns)') as
      (base: bigint, len: number, from: number, timeoutNs: number) => number,
    pollStart: lib.func('int nv_poll_start(unsigned int lcore)'),
    pollDrain: lib.func('int nv_poll_drain(void)'),
    pollSync: lib.func('int nv_poll_sync(void)'),
    pollInFlight: lib.func('uint64_t nv_poll_in_flight(void)'),
    portsRx: lib.func('uint64_t nv_ports_rx(void)'),
    pollIdle: lib.func('int nv_poll_idle(uint32_t max_nap_us)'),
    doorbellRing: lib.func('int nv_doorbell_ring(uintptr_t bell)'),
    workerSleep: lib.func('int nv_worker_sleep(uintptr_t bell, uint32_t seen, uint32_t timeout_us)') as (bell: bigint, seen: number, timeoutUs: number) => number,
    stop: lib.func('int nv_stop(void)'),
    shutdown: lib.func('int nv_shutdown(void)'),
  };
}

type Lib = ReturnType<typeof load>;
let lib: Lib | undefined;

/** The library, loaded on first use (each worker thread loads its own handle to the same .so). */
export function native(): Lib {
  lib ??= load();
  return lib;
}

/** Turns a negative return code into a NativeError with the library's message. */
export function check(ret: number): number {
  if (ret < 0) throw new NativeError(ret, native().lastError() as string);
  return ret;
}

/** The address of a byte in an ArrayBuffer, SharedArrayBuffer or WebAssembly memory. */
export function addressOf(buffer: ArrayBufferLike, offset = 0): bigint {
  return koffi.address(new Uint8Array(buffer, offset, 1)) as bigint;
}

export function poolCreate(nMbufs: number, wantHuge: boolean): PoolInfo {
  const info = {} as PoolInfo;
  check(native().poolCreate(nMbufs, wantHuge ? 1 : 0, info));
  return info;
}

/** A pool without DPDK (no mempool), for running NFs offline: on 4 KiB pages, or on 2 MiB
 *  pages when wantHuge and some are free (info.hugepages says which). */
export function poolCreatePlain(nSlots: number, wantHuge = false): PoolInfo {
  const info = {} as PoolInfo;
  check(native().poolCreatePlain(nSlots, wantHuge ? 1 : 0, info));
  return info;
}

/** The offsets (from the pool's start) of the pool's message slots (host/chain/mailroom.ts). */
export function poolMessageSlots(): Int32Array {
  const out = new Uint32Array(POOL_MESSAGE_SLOTS);
  return Int32Array.from(out.subarray(0, native().poolMessageSlots(out, out.length)));
}

export function portStats(port: number): PortCounters {
  const out = {} as PortCounters;
  check(native().portStats(port, out));
  return out;
}

export function laneStats(lane: number): LaneCounters {
  const out = {} as LaneCounters;
  check(native().laneStats(lane, out));
  return out;
}
