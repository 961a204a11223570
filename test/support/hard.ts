// The hard suite (test/hard/): how hard it runs (short in CI; long with
// `npm run test:hard -- --long`) and its report: one line per class of fault,
// with what was tried, what was contained, and the packets lost (must be 0).
// scripts/hard-report sums the lines of every test file into the table.
import { appendFileSync } from 'node:fs';

export const LONG = process.env.NETVM_HARD === 'long';

export interface ClassTally {
  tried: number;
  contained: number;
  lost: number;
}

export function reportClass(t: Tap.Test, name: string, tally: ClassTally): void {
  t.comment(`${name}: tried ${tally.tried}, contained ${tally.contained}, lost ${tally.lost}`);
  const report = process.env.NETVM_HARD_REPORT;
  if (report) appendFileSync(report, `${name}\t${tally.tried}\t${tally.contained}\t${tally.lost}\n`);
}

/** A test counted in its class's tally: tried, and contained when none of its assertions failed. */
export function talliedTest(t: Tap.Test, tally: ClassTally, name: string, test: (t: Tap.Test) => Promise<void>): void {
  t.test(name, async (t) => {
    tally.tried++;
    const before = t.counts.fail;
    await test(t);
    if (t.counts.fail === before) tally.contained++;
  });
}
