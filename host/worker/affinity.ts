// Pins the calling thread to one CPU (sched_setaffinity with pid 0 means the
// calling thread, not the process), names it so that top, perf and the run's
// CPU shares say which thread is which, and says its kernel id (the watchdog
// reads the thread's CPU time by it).
import koffi from 'koffi';

const MASK_BYTES = 128;
const PR_SET_NAME = 15;
let setAffinity: ((pid: number, size: number, mask: Uint8Array) => number) | undefined;
let prctl: ((option: number, name: string) => number) | undefined;
let gettid: (() => number) | undefined;

export function pinThisThread(cpu: number): void {
  setAffinity ??= koffi.load('libc.so.6').func('int sched_setaffinity(int pid, size_t size, const uint8_t *mask)');
  const mask = new Uint8Array(MASK_BYTES);
  mask[cpu >> 3] = 1 << (cpu & 7);
  if (setAffinity(0, MASK_BYTES, mask) !== 0) throw new Error(`cannot pin worker thread to CPU ${cpu}`);
}

/** Names the calling thread (at most 15 bytes are kept). */
export function nameThisThread(name: string): void {
  prctl ??= koffi.load('libc.so.6').func('int prctl(int option, const char *name)');
  prctl(PR_SET_NAME, name);
}

/** The calling thread's kernel id (its /proc/self/task entry). */
export function kernelThreadId(): number {
  gettid ??= koffi.load('libc.so.6').func('int gettid(void)');
  return gettid();
}
