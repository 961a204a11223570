// The rates of the last minutes, for the dashboard's charts: once a second the
// run hands its chains' counters here, and the rates since the last sample
// (packets a second in, out and dropped, per chain and per NF) are kept in a
// ring of HISTORY_SAMPLES. A chain or NF that comes or goes starts or ends its
// series; a counter that went back (a chain re-created) gives no rate that once.
import type { ChainSummary } from './stats.js';

/** Ten minutes at one sample a second. */
export const HISTORY_SAMPLES = 600;

/** The rates of one interval, in packets a second. */
export interface HistorySample {
  /** The interval's end, ms since the epoch. */
  at: number;
  chains: { name: string; in: number; out: number; dropped: number; nfs: { name: string; in: number; dropped: number }[] }[];
}

/** An NF's drops of every kind (its verdicts, bad verdicts or lengths, traps, hangs, fail-closed). */
const nfDrops = (nf: ChainSummary['nfs'][number]): number => nf.dropped + nf.bad_verdict + nf.bad_length + nf.trapped + nf.hung + nf.fail_dropped;

export class RateHistory {
  private readonly samples: HistorySample[] = [];
  private last: { at: number; chains: ChainSummary[] } | undefined;

  /** Adds the rates from the previous call's counters to these. */
  sample(at: number, chains: ChainSummary[]): void {
    const last = this.last;
    this.last = { at, chains };
    if (last === undefined || at <= last.at) return;
    const seconds = (at - last.at) / 1000;
    const rate = (now: number, was: number | undefined): number => (was === undefined || now < was ? 0 : (now - was) / seconds);
    this.samples.push({
      at,
      chains: chains.map((c) => {
        const was = last.chains.find((l) => l.name === c.name);
        return {
          name: c.name, in: rate(c.in, was?.in), out: rate(c.out, was?.out), dropped: rate(c.dropped, was?.dropped),
          nfs: c.nfs.map((nf) => {
            const wasNf = was?.nfs.find((n) => n.name === nf.name);
            return { name: nf.name, in: rate(nf.in, wasNf?.in), dropped: rate(nfDrops(nf), wasNf && nfDrops(wasNf)) };
          }),
        };
      }),
    });
    if (this.samples.length > HISTORY_SAMPLES) this.samples.shift();
  }

  /** The samples, oldest first. */
  recent(): readonly HistorySample[] {
    return this.samples;
  }
}
