// A vm NF's guest, kept by the main thread: a boot that waits until the guest
// says it is ready; a restart, with back-off, when it dies; and a stop that
// leaves nothing behind. How the guest reaches the data plane is its link:
//   ivshmem     a region of its own (a file on /dev/hugepages when that is mounted
//               with a page free, in /dev/shm otherwise), mapped here too; ready once its agent has
//               taken its config. While the guest is away the worker finds it
//               not ready, and the chain's fail policy applies to its bursts
//               (host/vm/vm-nf.ts).
//   vhost-user  two virtio-net interfaces on DPDK vhost-user ports (host/vm/
//               vhost-split.ts); ready once it prints READY_LINE on its console.
//               While it is away, what is sent to it is dropped at its port,
//               counted (tx full).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { native } from '../dataplane/native.js';
import { qemuCommand, type Accel } from './qemu.js';
import { VM_REGION_BYTES } from './vm-nf.js';
import { log } from '../log.js';

/** guest_state (netvm_vm.h). */
const VM_READY = 1;
const VM_REFUSED = 2;
/** What a vhost-user guest image prints on its console once it forwards. */
export const READY_LINE = 'netvm-guest: ready';

const BOOT_TIMEOUT_MS: Record<Accel, number> = { kvm: 15_000, tcg: 90_000 };
const RESTART_FIRST_MS = 500;
const RESTART_MAX_MS = 10_000;
/** A guest up this long has its back-off start over. */
const STABLE_MS = 30_000;

/** The accelerator that booted a guest in this process: once KVM has failed, TCG runs the rest. */
let provenAccel: Accel | undefined;

export interface GuestOptions {
  /** The NF's name, and the run's file prefix: they name the region and console files. */
  nf: string;
  filePrefix: string;
  /** The guest's initramfs. */
  image: string;
  /** ivshmem: the NF's config text; vhost-user: the sockets of its two ports. */
  link: { via: 'ivshmem'; config: string } | { via: 'vhost-user'; sockets: [string, string] };
}

/** How far a boot has come. */
type BootState = { ready: boolean; refused?: string };

/** What a guest is joined to the data plane by. */
interface GuestLink {
  /** QEMU arguments for its devices. */
  args: string[];
  /** Ready for a boot: false with the reason if not (its config too large, say). */
  prepare(): string | undefined;
  state(console: () => string): BootState;
  /** The guest died: the data plane stops sending it anything now. */
  down(): void;
  release(): void;
}

class IvshmemLink implements GuestLink {
  readonly args: string[];
  private boots = 0;

  constructor(private readonly mapped: { path: string; region: bigint }, private readonly config: string) {
    this.args = [
      '-object', `memory-backend-file,id=region,mem-path=${mapped.path},size=${VM_REGION_BYTES},share=on`,
      '-device', 'ivshmem-plain,memdev=region',
    ];
  }

  prepare(): string | undefined {
    const lib = native();
    if (lib.vmReset(this.mapped.region, this.config, Buffer.byteLength(this.config)) !== 0) return lib.lastError();
    this.boots = lib.vmBoots(this.mapped.region);
    return undefined;
  }

  state(): BootState {
    const lib = native();
    const state = lib.vmGuestState(this.mapped.region);
    if (state === VM_REFUSED) return { ready: false, refused: lib.vmError(this.mapped.region) || 'no reason given' };
    return { ready: state === VM_READY && lib.vmBoots(this.mapped.region) !== this.boots };
  }

  down(): void {
    native().vmReset(this.mapped.region, '', 0);
  }

  release(): void {
    native().vmUnmap(this.mapped.region);
    rmSync(this.mapped.path, { force: true });
  }
}

class VhostUserLink implements GuestLink {
  readonly args: string[];

  constructor(sockets: [string, string]) {
    // Guest RAM is shared (vhost-user maps it); vectors=0: QEMU 7.2 under TCG crashes setting up
    // MSI-X; csum=off: the guest finishes the checksums of segments it merged and split again.
    this.args = [
      '-object', 'memory-backend-memfd,id=ram,size=128M,share=on', '-numa', 'node,memdev=ram',
      ...sockets.flatMap((sock, i) => [
        '-chardev', `socket,id=vhost${i},path=${sock}`,
        '-netdev', `vhost-user,id=net${i},chardev=vhost${i}`,
        '-device', `virtio-net-pci,netdev=net${i},vectors=0,csum=off,mac=52:54:00:00:00:0${i + 1}`,
      ]),
    ];
  }

  prepare(): string | undefined {
    return undefined;
  }

  state(console: () => string): BootState {
    return { ready: console().includes(READY_LINE) };
  }

  down(): void {}

  release(): void {}
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Maps a region file in dir; undefined when it cannot be had there (no free hugepage, say). */
function mapRegion(dir: string, name: string): { path: string; region: bigint } | undefined {
  const path = join(dir, name);
  const region = native().vmMap(path);
  if (region !== null && region !== 0n) return { path, region: BigInt(region) };
  rmSync(path, { force: true });
  return undefined;
}

export class Guest {
  /** ivshmem: the region's address here (0n for vhost-user). */
  readonly region: bigint;
  readonly consolePath: string;
  accel: Accel | undefined;
  restarts = 0;
  private child: ChildProcess | undefined;
  /** A QEMU not ready yet. */
  private booting: ChildProcess | undefined;
  private stopping = false;
  private upSince = 0;
  private backoffMs = RESTART_FIRST_MS;

  private constructor(private readonly opts: GuestOptions, private readonly link: GuestLink, region: bigint) {
    this.region = region;
    this.consolePath = join(tmpdir(), `netvm-${opts.filePrefix}-vm-${opts.nf}.console`);
  }

  /** Makes its link (an ivshmem region mapped) and boots the guest; throws why it did not come up (its config refused, say). */
  static async start(opts: GuestOptions): Promise<Guest> {
    let guest: Guest;
    if (opts.link.via === 'ivshmem') {
      const name = `netvm-${opts.filePrefix}-vm-${opts.nf}`;
      const mapped = mapRegion('/dev/hugepages', name) ?? mapRegion('/dev/shm', name);
      if (mapped === undefined) throw new Error(`cannot map a region for the guest: ${native().lastError()}`);
      guest = new Guest(opts, new IvshmemLink(mapped, opts.link.config), mapped.region);
    } else {
      guest = new Guest(opts, new VhostUserLink(opts.link.sockets), 0n);
    }
    try {
      await guest.boot();
    } catch (err) {
      await guest.stop();
      throw err;
    }
    return guest;
  }

  /** What stats say of it. */
  describe(): { nf: string; via: 'ivshmem' | 'vhost-user'; accel: Accel | undefined; restarts: number; ready: boolean } {
    return { nf: this.opts.nf, via: this.opts.link.via, accel: this.accel, restarts: this.restarts, ready: this.child !== undefined && this.link.state(() => this.console()).ready };
  }

  private async boot(): Promise<void> {
    const tries: Accel[] = provenAccel !== undefined ? [provenAccel] : ['kvm', 'tcg'];
    const failures: string[] = [];
    for (const accel of tries) {
      const outcome = await this.bootWith(accel);
      if (outcome === undefined) {
        provenAccel = accel;
        this.accel = accel;
        this.upSince = Date.now();
        log().info({ nf: this.opts.nf, accel }, `vm nf ${this.opts.nf}: guest ready under ${accel.toUpperCase()}${failures.length > 0 ? ` (${failures.join('; ')})` : ''}`);
        return;
      }
      if (outcome.refused) throw new Error(`nfs.${this.opts.nf}.config: the guest refused it: ${outcome.reason}`);
      failures.push(`${accel.toUpperCase()}: ${outcome.reason}`);
    }
    throw new Error(`nfs.${this.opts.nf}: the guest did not come up (${failures.join('; ')})`);
  }

  /** One boot: undefined once the guest is ready, else why not. */
  private async bootWith(accel: Accel): Promise<{ reason: string; refused?: boolean } | undefined> {
    const unfit = this.link.prepare();
    if (unfit !== undefined) return { reason: unfit, refused: true };
    rmSync(this.consolePath, { force: true });
    const [cmd, ...args] = qemuCommand(accel, this.opts.image, this.consolePath, this.link.args);
    const child = spawn(cmd!, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.booting = child;
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    let exited: string | undefined;
    child.on('exit', (code, signal) => (exited = signal ?? `exit ${code}`));
    child.on('error', (err) => (exited = err.message));
    const deadline = Date.now() + BOOT_TIMEOUT_MS[accel];
    let state: BootState = { ready: false };
    while (exited === undefined && Date.now() < deadline && !this.stopping) {
      state = this.link.state(() => this.console());
      if (state.ready) {
        this.booting = undefined;
        this.child = child;
        child.on('exit', () => void this.onDeath(child));
        return undefined;
      }
      if (state.refused !== undefined) break;
      await sleep(20);
    }
    child.kill('SIGKILL');
    this.booting = undefined;
    // A guest that refused its config powers off: its reason stays in the region.
    state = this.link.state(() => this.console());
    if (state.refused !== undefined) return { reason: state.refused, refused: true };
    const why = exited !== undefined ? `QEMU ended (${exited}): ${lastLine(stderr) || this.consoleTail()}` : `not ready after ${BOOT_TIMEOUT_MS[accel] / 1000} s: ${this.consoleTail()}`;
    return { reason: why };
  }

  private console(): string {
    try {
      return readFileSync(this.consolePath, 'utf8');
    } catch {
      return '';
    }
  }

  private consoleTail(): string {
    return lastLine(this.console()) || 'nothing on its console';
  }

  /** The guest died under a running chain: it is told apart from a ready one at once, then booted again. */
  private async onDeath(child: ChildProcess): Promise<void> {
    if (this.stopping || child !== this.child) return;
    this.child = undefined;
    this.link.down();
    if (Date.now() - this.upSince >= STABLE_MS) this.backoffMs = RESTART_FIRST_MS;
    log().warn({ nf: this.opts.nf, backoffMs: this.backoffMs }, `vm nf ${this.opts.nf}: guest ended (${child.signalCode ?? `exit ${child.exitCode}`}; ${this.consoleTail()}); restarting it in ${this.backoffMs} ms, its chain's fail policy applies meanwhile`);
    while (!this.stopping) {
      await sleep(this.backoffMs);
      this.backoffMs = Math.min(this.backoffMs * 2, RESTART_MAX_MS);
      if (this.stopping) return;
      try {
        await this.boot();
        this.restarts++;
        return;
      } catch (err) {
        log().error({ nf: this.opts.nf }, `vm nf ${this.opts.nf}: restart failed: ${(err as Error).message}`);
      }
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    // The running guest, or one booting again after a death.
    for (const child of [this.child, this.booting]) {
      if (child === undefined || child.exitCode !== null || child.signalCode !== null) continue;
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGKILL');
      await gone;
    }
    this.child = undefined;
    this.link.release();
    rmSync(this.consolePath, { force: true });
  }
}

function lastLine(text: string): string {
  return text.trim().split('\n').filter((l) => l.trim() !== '').at(-1)?.trim() ?? '';
}
