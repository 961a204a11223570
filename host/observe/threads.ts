// CPU time of this process's threads, from /proc/self/task: what share of a
// core each thread (the poll lcore, each worker, the main thread) used over a
// window of a run.
import { readFileSync, readdirSync } from 'node:fs';

/** Clock ticks per second of /proc's utime and stime (USER_HZ; 100 on Linux). */
const TICKS_PER_SECOND = 100;

export interface ThreadCpu {
  tid: number;
  name: string;
  /** Seconds of CPU (user + system) since the thread started. */
  seconds: number;
}

/** Nanoseconds one thread of this process has run on a CPU (schedstat's first field), or
 *  undefined once it has ended. Time it waited for a CPU is not in it. */
export function threadRunNs(tid: number): number | undefined {
  try {
    return Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
  } catch {
    return undefined;
  }
}

/** How often the kernel took a thread of this process off its CPU for another
 *  (nonvoluntary_ctxt_switches), or undefined once it has ended. */
export function threadPreemptions(tid: number): number | undefined {
  try {
    return Number(/^nonvoluntary_ctxt_switches:\s*(\d+)/m.exec(readFileSync(`/proc/self/task/${tid}/status`, 'utf8'))![1]);
  } catch {
    return undefined;
  }
}

export function threadCpu(): ThreadCpu[] {
  const threads: ThreadCpu[] = [];
  for (const tid of readdirSync('/proc/self/task')) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // ended meanwhile
    }
    // "tid (name) state ..." where the name may hold spaces and parentheses.
    const close = stat.lastIndexOf(')');
    const fields = stat.slice(close + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime: fields 14 and 15 of stat(5)
    threads.push({ tid: Number(tid), name: stat.slice(stat.indexOf('(') + 1, close), seconds: ticks / TICKS_PER_SECOND });
  }
  return threads;
}

/** Each thread's share of one core between two readings (threads in both), busiest first. */
export function cpuShares(before: ThreadCpu[], after: ThreadCpu[], seconds: number): { tid: number; name: string; share: number }[] {
  const start = new Map(before.map((t) => [t.tid, t.seconds]));
  return after
    .filter((t) => start.has(t.tid))
    .map((t) => ({ tid: t.tid, name: t.name, share: (t.seconds - start.get(t.tid)!) / seconds }))
    .filter((t) => t.share > 0.005)
    .sort((a, b) => b.share - a.share);
}
