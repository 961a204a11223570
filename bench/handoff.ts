// The handoff baseline (bench/handoff.c): two threads passing descriptors
// through NetVM's RX and return rings and nothing else, on the poll lcore's
// CPU and a worker's; flat out (a rate), or paced (a latency).
import { execFileSync } from 'node:child_process';
import type { LatencySummary } from '../host/dataplane/latency.js';
import { cProgram } from './c-program.js';

const handoff = (): string => cProgram('handoff', ['native-dpdk/netvm_dp.h', 'bench/pin.h'], ['-pthread']);

/** Descriptors per second that make the round trip, the two sides pinned to pollCpu and workerCpu. */
export function handoffPps(pollCpu: number, workerCpu: number, warmupS: number, seconds: number): number {
  const out = execFileSync(handoff(), [String(pollCpu), String(workerCpu), String(warmupS), String(seconds)], { encoding: 'utf8' });
  const pps = Number(out.trim());
  if (!(pps > 0)) throw new Error(`the handoff program printed '${out.trim()}', not a rate`);
  return pps;
}

/** The rings alone paced at pps, each descriptor timed from its arrival to its return (as a packet
 *  from arrival to hand-back): the latency of the two cores and the rings on this machine, in ns. With
 *  workNs, the worker side spends that much CPU time on each descriptor, as a chain does on a packet. */
export function handoffLatency(pollCpu: number, workerCpu: number, warmupS: number, seconds: number, pps: number, workNs?: number): Omit<LatencySummary, 'count'> {
  const args = [pollCpu, workerCpu, warmupS, seconds, pps, ...(workNs === undefined ? [] : [workNs])].map(String);
  const out = execFileSync(handoff(), args, { encoding: 'utf8' });
  const [, p50Ns, p99Ns, p999Ns, maxNs] = out.trim().split(' ').map(Number);
  if (!(p50Ns! > 0)) throw new Error(`the handoff program printed '${out.trim()}', not a rate and percentiles`);
  return { p50Ns: p50Ns!, p99Ns: p99Ns!, p999Ns: p999Ns!, maxNs: maxNs! };
}
