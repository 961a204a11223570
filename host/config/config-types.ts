// A resolved data-plane config (what host/config/config.ts makes of a file):
// apart from the loader, so that what reads a config (EAL arguments, the
// run) need not import the loader, nor the loader them.

export type HugepageMode = 'auto' | 'on' | 'off';

export interface PortConfig {
  name: string;
  devargs: string;
}

export interface NfConfig {
  name: string;
  /** Absolute path of the .wasm module. */
  module: string;
  config: unknown;
  /** Its heap may grow to heapMb MiB (above the pool's region); a burst or tick may take batchMs. */
  limits: { heapMb?: number; batchMs?: number };
  /** shared: the pool mapped in its memory (zero-copy); isolated: only copies of its own packets;
   *  vm: in a QEMU guest (its module is the guest's initramfs). */
  trust: 'shared' | 'isolated' | 'vm';
  /** A vm NF: copies of its packets in an ivshmem region of its own, or a vhost-user port per
   *  guest interface (the chain is split there: host/vm/vhost-split.ts). */
  via?: 'ivshmem' | 'vhost-user';
}

export interface ChainConfig {
  name: string;
  /** Port indexes (order of `ports`). */
  from: number;
  to: number;
  through: string[];
  /** Workers (replicas) it runs on, flows steered among them by a symmetric hash. */
  workers: number;
  /** For an NF that keeps trapping: pass its packets on (true) or drop them. */
  failOpen: boolean;
}

export interface DataPlaneConfig {
  /** napUs: the poll lcore's longest nap once idle (native-dpdk/idle.c); 0: busy polling, and
   *  workers never sleep either. */
  cores: { poll: number; workers: number[]; napUs: number };
  ports: PortConfig[];
  nfs: NfConfig[];
  chains: ChainConfig[];
  pool: { mbufs: number; hugepages: HugepageMode };
  eal: string[];
  /** A worker that runs this long (its own CPU time) without progress (an NF that never returns) is restarted. */
  watchdogMs: number;
}
