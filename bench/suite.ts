// netvm bench: the benchmark suite. Runs the matrix (bench/matrix.ts) one
// point at a time (each pins and spins both cores), repeats every point, and
// writes into the output folder results.json (every sample), report.md and
// SVG charts; the terminal gets a progress bar, then the table.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { UsageError, positiveNumber } from '../host/usage.js';
import { PROJECT_ROOT } from '../host/paths.js';
import { describeMachine } from './machine.js';
import { POLL_CPU, latencyBase, matrix, workerCpus, type Point } from './matrix.js';
import { lineRoundTripNs } from './crosscore.js';
import { measure, type Timing } from './measure.js';
import { charts, figures, headline, markdownReport, peerLines, targets, terminalTable, type PointResult, type SuiteRun } from './report.js';
import { buildSkeleton } from './skeleton.js';
import { buildL3fwd } from './l3fwd.js';
import { hasOvs } from './ovs.js';

export const BENCH_USAGE = `usage: netvm bench [--quick] [--only <point>]... [--out <dir>] [--repeats <n>] [--warmup <s>] [--seconds <s>] [--workers <n>]

  Runs the benchmark matrix and writes results.json, report.md and charts (SVG) into --out
  (default bench/results/<date>). --quick: the short matrix (about four minutes); --only: the
  point of this id, or else the points whose id starts with it (skeleton-64B, forward-, chain3-,
  nf-firewall, ...), repeatable: chain3-64B-1K is that point alone, chain3-64B-1 its variants too.
  Each point runs --repeats times (3, quick 2): --warmup seconds (2, quick 1), then --seconds
  measured (5, quick 2). --workers: each chain runs on n workers (1), on the CPUs other than the
  poll lcore's, its flows steered by a symmetric hash. Needs hugepages (npm run bench reserves
  them) and every CPU idle.`;

/** A progress bar on a terminal; a line per point otherwise. */
function progress(total: number): (done: number, label: string) => void {
  const tty = process.stderr.isTTY;
  return (done, label) => {
    if (!tty) {
      if (done < total) console.error(`[${done + 1}/${total}] ${label}`);
      return;
    }
    const width = 30;
    const filled = Math.round((done / total) * width);
    process.stderr.write(`\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total} ${label}`.padEnd(100));
    if (done === total) process.stderr.write('\n');
  };
}

/** Points whose packets go from the poll lcore's CPU to a worker's and back. */
const crossesCores = (p: Point): boolean => p.kind === 'handoff' || p.kind === 'forward' || p.kind === 'chain' || p.kind === 'latency' || p.kind === 'swap';

export async function benchCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      quick: { type: 'boolean' },
      only: { type: 'string', multiple: true },
      out: { type: 'string' },
      repeats: { type: 'string' },
      warmup: { type: 'string' },
      seconds: { type: 'string' },
      workers: { type: 'string' },
    },
  });
  if (positionals.length > 0) throw new UsageError(`bench takes no arguments ('${positionals[0]}')`, BENCH_USAGE);
  const quick = values.quick ?? false;
  const only = values.only ?? [];
  const repeats = positiveNumber(values.repeats, '--repeats', BENCH_USAGE) ?? (quick ? 2 : 3);
  if (!Number.isInteger(repeats)) throw new UsageError(`--repeats: '${values.repeats}' is not a whole number`, BENCH_USAGE);
  const timing: Timing = {
    warmupS: positiveNumber(values.warmup, '--warmup', BENCH_USAGE) ?? (quick ? 1 : 2),
    seconds: positiveNumber(values.seconds, '--seconds', BENCH_USAGE) ?? (quick ? 2 : 5),
    workers: positiveNumber(values.workers, '--workers', BENCH_USAGE) ?? 1,
  };
  if (!Number.isInteger(timing.workers) || timing.workers > 16) throw new UsageError(`--workers: '${values.workers}' is not a whole number from 1 to 16`, BENCH_USAGE);
  const all = matrix(quick);
  // Latency and swap points are set beside their chain point (its CPU time a packet is the
  // latency floor's work): that one comes along.
  const exact = new Set(only.filter((o) => all.some((p) => p.id === o)));
  const wanted = (p: Point): boolean => only.some((o) => (exact.has(o) ? p.id === o : p.id.startsWith(o)));
  const paced = (q: Point): boolean => (q.kind === 'latency' || q.kind === 'swap') && wanted(q);
  const points = only.length === 0 ? all : all.filter((p) => wanted(p) || all.some((q) => paced(q) && latencyBase(q as { length: number }).id === p.id));
  if (points.length === 0) {
    throw new UsageError(`--only ${only.join(', ')}: no such point in the ${quick ? 'quick' : 'full'} matrix (${all.map((p) => p.id).join(', ')})`, BENCH_USAGE);
  }
  const started = new Date();
  const out = resolve(values.out ?? join(PROJECT_ROOT, 'bench/results', started.toISOString().replace(/[:.]/g, '-')));
  const scratch = join(out, 'scratch');
  mkdirSync(out, { recursive: true });

  const machine = describeMachine();
  console.log(`netvm bench: ${points.length} points x ${repeats} on ${machine.cpu} (${machine.cpus} CPUs), hugepages ${machine.hugepages}` +
    (timing.workers > 1 ? `, each chain on ${timing.workers} workers` : ''));
  const hasSkeleton = points.filter((p) => p.kind === 'skeleton').every((p) => buildSkeleton(p.mbufs));
  const hasL3fwd = points.some((p) => p.kind === 'peer' && p.peer === 'l3fwd') ? buildL3fwd() : true;
  const results: PointResult[] = points.map((point) => ({ point, samples: [] }));
  const show = progress(points.length * repeats);
  let done = 0;
  // Repeats go round the matrix, so that a slow spell of the machine spreads over points.
  for (let rep = 0; rep < repeats; rep++) {
    for (const r of results) {
      show(done, `${r.point.id} (${rep + 1}/${repeats})`);
      if (r.error === undefined) {
        try {
          if (r.point.kind === 'skeleton' && !hasSkeleton) throw new Error('the skeleton example is missing: apt-get install dpdk-doc');
          if (r.point.kind === 'peer' && r.point.peer === 'l3fwd' && !hasL3fwd) throw new Error('the l3fwd example is missing: apt-get install dpdk-doc');
          if (r.point.kind === 'peer' && r.point.peer !== 'l3fwd' && !hasOvs()) throw new Error('Open vSwitch with DPDK is missing: apt-get install openvswitch-switch-dpdk');
          // Where the host has put the two vCPUs now, for a point whose packets cross between them.
          const lineRttNs = crossesCores(r.point) ? lineRoundTripNs(POLL_CPU, workerCpus(1)[0]!) : undefined;
          const sample = await measure(r.point, timing, scratch, (p) => {
            const base = results.find((x) => x.point.id === p.id);
            const f = base && base.samples.length > 0 ? figures(base, results)! : undefined;
            return f && { pps: f.pps, ...(f.workerNs !== undefined && { workerNs: f.workerNs }) };
          });
          r.samples.push(lineRttNs === undefined ? sample : { ...sample, lineRttNs });
        } catch (err) {
          r.error = (err as Error).message;
        }
      }
      done++;
    }
  }
  show(done, 'done');
  rmSync(scratch, { recursive: true, force: true });

  const run: SuiteRun = { started: started.toISOString(), machine, options: { quick, only, repeats, ...timing }, results };
  const made = charts(results, timing.workers);
  for (const c of made) writeFileSync(join(out, c.file), c.svg);
  writeFileSync(join(out, 'report.md'), markdownReport(run, made.map((c) => c.file)));
  const json = {
    ...run,
    results: results.map((r) => ({ ...r.point, samples: r.samples, ...(r.error !== undefined && { error: r.error }), figures: figures(r, results) ?? null })),
    targets: targets(results),
  };
  writeFileSync(join(out, 'results.json'), `${JSON.stringify(json, null, 1)}\n`);
  const peers = peerLines(results, timing.workers);
  console.log(`\n${terminalTable(results)}\n\n${headline(results)}\n${peers.length > 0 ? `\n${peers.join('\n')}\n` : ''}`);
  for (const t of targets(results)) console.log(`target ${t.status === 'met' ? 'met   ' : t.status === 'missed' ? 'MISSED' : 'n/a   '} ${t.what}: ${t.detail}`);
  console.log(`\nwritten: ${join(out, 'report.md')}, results.json, ${made.map((c) => c.file).join(', ') || 'no charts'}`);
  return results.some((r) => r.error !== undefined) ? 1 : 0;
}
