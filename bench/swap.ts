// The hot-swap point: a chain at half its measured rate (a paced source, so
// that any drop is the swap's), its NF swapped for a fresh instance every
// 100 ms through the control API for the measured seconds. It reports each
// swap's pause (the worker's chains standing still for the handover), the turn
// before it in which the new instance was built, and the drops in the window.
import { controlCall } from '../host/api/client.js';
import { parseControlAddress } from '../host/api/api.js';

export const SWAP_EVERY_MS = 100;

export interface SwapRound {
  swaps: number;
  refused: number;
  /** The run's first swap, apart: its code paths run cold (V8 has compiled none of them yet). */
  first?: { pauseUs: number; buildUs: number };
  /** Every later swap's pause. */
  pausesUs: number[];
  /** How long each build of the new instance held the worker's chains, a turn before its pause. */
  buildsUs: number[];
}

/** Swaps `nf` to `module` (with `config`) every SWAP_EVERY_MS until `untilMs` (Date.now() time). */
export async function swapEvery(control: string, nf: string, module: string, config: unknown, untilMs: number): Promise<SwapRound> {
  const address = parseControlAddress(control)!;
  const round: SwapRound = { swaps: 0, refused: 0, pausesUs: [], buildsUs: [] };
  while (Date.now() + SWAP_EVERY_MS < untilMs) {
    const started = Date.now();
    const a = await controlCall(address, 'POST', `/v1/nfs/${nf}/swap`, { module, config });
    if (a.status === 200) {
      const [pauseUs, buildUs] = [a.body['pauseUs'] as number, a.body['buildUs'] as number];
      if (round.swaps++ === 0) round.first = { pauseUs, buildUs };
      else {
        round.pausesUs.push(pauseUs);
        round.buildsUs.push(buildUs);
      }
    } else {
      round.refused++;
    }
    await new Promise((r) => setTimeout(r, Math.max(0, SWAP_EVERY_MS - (Date.now() - started))));
  }
  return round;
}
