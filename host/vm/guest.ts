// A vm NF's guest, kept by the main thread: its region (a hugepage file when
// one is free, shared memory otherwise), mapped here and given to QEMU; a boot
// that waits for the guest's agent to take its config; a restart, with
// back-off, when the guest dies; and a stop that leaves nothing behind. While
// the guest is away the worker finds it not ready, and the chain's fail policy
// applies to its bursts (host/vm/vm-nf.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { native } from '../dataplane/native.js';
import { qemuCommand, type Accel } from './qemu.js';

/** guest_state (netvm_vm.h). */
const VM_READY = 1;
const VM_REFUSED = 2;

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
  /** The guest's initramfs, and the NF's config text. */
  image: string;
  config: string;
  log: (line: string) => void;
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
  readonly region: bigint;
  readonly regionPath: string;
  readonly consolePath: string;
  accel: Accel | undefined;
  restarts = 0;
  private child: ChildProcess | undefined;
  private stopping = false;
  private upSince = 0;
  private backoffMs = RESTART_FIRST_MS;

  private constructor(private readonly opts: GuestOptions, mapped: { path: string; region: bigint }) {
    this.region = mapped.region;
    this.regionPath = mapped.path;
    this.consolePath = join(tmpdir(), `netvm-${opts.filePrefix}-vm-${opts.nf}.console`);
  }

  /** Maps the region and boots the guest; throws why it did not come up (its config refused, say). */
  static async start(opts: GuestOptions): Promise<Guest> {
    const name = `netvm-${opts.filePrefix}-vm-${opts.nf}`;
    const mapped = mapRegion('/dev/hugepages', name) ?? mapRegion('/dev/shm', name);
    if (mapped === undefined) throw new Error(`cannot map a region for the guest: ${native().lastError()}`);
    const guest = new Guest(opts, mapped);
    try {
      await guest.boot();
    } catch (err) {
      await guest.stop();
      throw err;
    }
    return guest;
  }

  /** What stats say of it. */
  describe(): { nf: string; accel: Accel | undefined; restarts: number; ready: boolean } {
    return { nf: this.opts.nf, accel: this.accel, restarts: this.restarts, ready: native().vmGuestState(this.region) === VM_READY };
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
        this.opts.log(`vm nf ${this.opts.nf}: guest ready under ${accel.toUpperCase()}${failures.length > 0 ? ` (${failures.join('; ')})` : ''}`);
        return;
      }
      if (outcome.refused) throw new Error(`nfs.${this.opts.nf}.config: the guest refused it: ${outcome.reason}`);
      failures.push(`${accel.toUpperCase()}: ${outcome.reason}`);
    }
    throw new Error(`nfs.${this.opts.nf}: the guest did not come up (${failures.join('; ')})`);
  }

  /** One boot: undefined once the agent is ready, else why not. */
  private async bootWith(accel: Accel): Promise<{ reason: string; refused?: boolean } | undefined> {
    const lib = native();
    if (lib.vmReset(this.region, this.opts.config, Buffer.byteLength(this.opts.config)) !== 0) return { reason: lib.lastError(), refused: true };
    const boots = lib.vmBoots(this.region);
    rmSync(this.consolePath, { force: true });
    const [cmd, ...args] = qemuCommand(accel, this.opts.image, this.regionPath, this.consolePath);
    const child = spawn(cmd!, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    let exited: string | undefined;
    child.on('exit', (code, signal) => (exited = signal ?? `exit ${code}`));
    child.on('error', (err) => (exited = err.message));
    const deadline = Date.now() + BOOT_TIMEOUT_MS[accel];
    while (exited === undefined && Date.now() < deadline) {
      const state = lib.vmGuestState(this.region);
      if (lib.vmBoots(this.region) !== boots && state === VM_READY) {
        this.child = child;
        child.on('exit', () => void this.onDeath(child));
        return undefined;
      }
      if (state === VM_REFUSED) {
        child.kill('SIGKILL');
        return { reason: lib.vmError(this.region) || 'no reason given', refused: true };
      }
      await sleep(20);
    }
    child.kill('SIGKILL');
    // A guest that refused its config powers off: its reason stays in the region.
    if (lib.vmGuestState(this.region) === VM_REFUSED) return { reason: lib.vmError(this.region) || 'no reason given', refused: true };
    const why = exited !== undefined ? `QEMU ended (${exited}): ${lastLine(stderr) || this.consoleTail()}` : `not ready after ${BOOT_TIMEOUT_MS[accel] / 1000} s: ${this.consoleTail()}`;
    return { reason: why };
  }

  private consoleTail(): string {
    try {
      return lastLine(readFileSync(this.consolePath, 'utf8')) || 'nothing on its console';
    } catch {
      return 'no console output';
    }
  }

  /** The guest died under a running chain: it is told apart from a ready one at once, then booted again. */
  private async onDeath(child: ChildProcess): Promise<void> {
    if (this.stopping || child !== this.child) return;
    this.child = undefined;
    const lib = native();
    lib.vmReset(this.region, '', 0); // not ready: the worker stops kicking it now
    if (Date.now() - this.upSince >= STABLE_MS) this.backoffMs = RESTART_FIRST_MS;
    this.opts.log(`vm nf ${this.opts.nf}: guest ended (${child.signalCode ?? `exit ${child.exitCode}`}; ${this.consoleTail()}); restarting it in ${this.backoffMs} ms, its chain's fail policy applies meanwhile`);
    while (!this.stopping) {
      await sleep(this.backoffMs);
      this.backoffMs = Math.min(this.backoffMs * 2, RESTART_MAX_MS);
      if (this.stopping) return;
      try {
        await this.boot();
        this.restarts++;
        return;
      } catch (err) {
        this.opts.log(`vm nf ${this.opts.nf}: restart failed: ${(err as Error).message}`);
      }
    }
  }

  /** The guest's QEMU process id (for tests that kill it). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const child = this.child;
    this.child = undefined;
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGKILL');
      await gone;
    }
    native().vmUnmap(this.region);
    rmSync(this.regionPath, { force: true });
    rmSync(this.consolePath, { force: true });
  }
}

function lastLine(text: string): string {
  return text.trim().split('\n').filter((l) => l.trim() !== '').at(-1)?.trim() ?? '';
}
