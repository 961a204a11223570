// What a run killed with SIGKILL leaves behind (its exit handlers never ran):
// EAL's runtime folder, its control token, and its own files, all named
// netvm-<file prefix>-...: vm NFs' regions (/dev/shm, /dev/hugepages), vhost-user
// sockets and guest consoles (the temporary folder). A run records itself in
// /run/netvm/runs/<file prefix>.json while it runs; a starting run sweeps the
// leftovers of every recorded run whose process is gone.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const RUNS_DIR = '/run/netvm/runs';
const EAL_RUNTIME = '/var/run/dpdk';
const OWN_FILE_DIRS = ['/dev/shm', '/dev/hugepages', tmpdir()];

interface RunRecord {
  pid: number;
  /** Its control API's token file, once it serves one. */
  token?: string;
}

function readRecord(path: string): RunRecord | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as RunRecord;
  } catch {
    return undefined;
  }
}

/** Whether pid is a live netvm process (not a process that got a dead run's pid since). */
function alive(pid: number): boolean {
  try {
    return /netvm|host\/cli\.js/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
  } catch {
    return false;
  }
}

/** Removes what dead runs left; returns a line per run swept. Throws if a live run has this prefix. */
export function sweepDeadRuns(filePrefix: string): string[] {
  if (!existsSync(RUNS_DIR)) return [];
  const records = readdirSync(RUNS_DIR).filter((f) => f.endsWith('.json')).map((f) => ({ prefix: f.slice(0, -5), record: readRecord(join(RUNS_DIR, f)) }));
  const live = records.filter((r) => r.record !== undefined && alive(r.record.pid));
  const same = live.find((r) => r.prefix === filePrefix);
  if (same !== undefined) throw new Error(`--file-prefix ${filePrefix} is in use by netvm run ${same.record!.pid}`);
  const liveTokens = new Set(live.map((r) => r.record!.token));
  const swept: string[] = [];
  for (const { prefix, record } of records) {
    if (record !== undefined && alive(record.pid)) continue;
    const removed: string[] = [];
    const remove = (path: string): void => {
      if (!existsSync(path)) return;
      rmSync(path, { recursive: true, force: true });
      removed.push(path);
    };
    remove(join(EAL_RUNTIME, prefix));
    for (const dir of OWN_FILE_DIRS) {
      if (!existsSync(dir)) continue;
      for (const f of readdirSync(dir)) if (f.startsWith(`netvm-${prefix}-`)) remove(join(dir, f));
    }
    if (record?.token !== undefined && !liveTokens.has(record.token)) remove(record.token);
    rmSync(join(RUNS_DIR, `${prefix}.json`), { force: true });
    swept.push(`run ${prefix}${record ? ` (pid ${record.pid})` : ''} is gone: removed ${removed.length ? removed.join(', ') : 'nothing else'}`);
  }
  if (existsSync(EAL_RUNTIME) && readdirSync(EAL_RUNTIME).length === 0) rmSync(EAL_RUNTIME, { recursive: true, force: true });
  return swept;
}

/** This run's record, until forget() at its end. */
export class RunRecordFile {
  private readonly path: string;
  private readonly record: RunRecord = { pid: process.pid };

  constructor(filePrefix: string) {
    this.path = join(RUNS_DIR, `${filePrefix}.json`);
    mkdirSync(RUNS_DIR, { recursive: true, mode: 0o700 });
    this.write();
  }

  setToken(token: string): void {
    this.record.token = token;
    this.write();
  }

  private write(): void {
    writeFileSync(this.path, JSON.stringify(this.record));
  }

  forget(): void {
    rmSync(this.path, { force: true });
    for (const dir of [RUNS_DIR, '/run/netvm']) {
      try {
        if (readdirSync(dir).length === 0) rmSync(dir, { recursive: true });
      } catch {
        // gone already
      }
    }
  }
}
