// Fuzzed frames for the hard suite, reproducible from a seed: random bytes,
// valid frames (the bundled traffic) mutated, truncated, padded past the MTU
// and past a buffer, given lying length fields, or stacked with VLAN tags.
import { DATA_ROOM, inputFrames } from './pcap-ports.js';

export const FUZZ_KINDS = ['random', 'mutated', 'truncated', 'oversized', 'lying-lengths', 'vlan-stack'] as const;

/** A small fast PRNG (mulberry32): the same seed gives the same frames. */
function prng(seed: number): (n: number) => number {
  let s = seed | 0;
  return (n: number): number => {
    s = (s + 0x6d2b79f5) | 0;
    let x = Math.imul(s ^ (s >>> 15), 1 | s);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) % n;
  };
}

/** Where the IP header starts, after any VLAN tags (or -1 if the frame is too short). */
function ipOffset(f: Uint8Array): number {
  let at = 12;
  while (at + 2 <= f.length && (f[at] === 0x81 || f[at] === 0x88) && (f[at + 1] === 0x00 || f[at + 1] === 0xa8)) at += 4;
  return at + 2 <= f.length ? at + 2 : -1;
}

function lie(f: Uint8Array, rand: (n: number) => number): void {
  const ip = ipOffset(f);
  if (ip < 0 || ip + 40 > f.length) return;
  const values = [0, 1, 4, 19, 20, 0x7fff, 0xffff, rand(0x10000)];
  const v = values[rand(values.length)]!;
  const version = f[ip]! >> 4;
  const l4 = version === 6 ? ip + 40 : ip + (f[ip]! & 0x0f) * 4;
  switch (rand(5)) {
    case 0: // IPv4 total length / IPv6 payload length
      f[ip + (version === 6 ? 4 : 2)] = v >> 8;
      f[ip + (version === 6 ? 5 : 3)] = v & 0xff;
      break;
    case 1: // IHL (or the version nibble)
      f[ip] = (f[ip]! & 0xf0) | rand(16);
      break;
    case 2: // UDP length
      if (l4 + 6 <= f.length) [f[l4 + 4], f[l4 + 5]] = [v >> 8, v & 0xff];
      break;
    case 3: // TCP data offset
      if (l4 + 13 <= f.length) f[l4 + 12] = rand(16) << 4;
      break;
    default: // IPv6 next header, into extension headers that may not be there
      if (version === 6) f[ip + 6] = [0, 43, 44, 60, 51, 59][rand(6)]!;
      else f[ip + 9] = rand(256);
  }
}

/** count frames from seed; each a fresh array. */
export function fuzzFrames(count: number, seed: number): { frames: Uint8Array[]; kinds: Record<(typeof FUZZ_KINDS)[number], number> } {
  const rand = prng(seed);
  const seeds = inputFrames().filter((f) => f.length <= DATA_ROOM);
  const kinds = Object.fromEntries(FUZZ_KINDS.map((k) => [k, 0])) as Record<(typeof FUZZ_KINDS)[number], number>;
  const frames: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const kind = FUZZ_KINDS[i % FUZZ_KINDS.length]!;
    kinds[kind]++;
    const base = seeds[rand(seeds.length)]!;
    let f: Uint8Array;
    if (kind === 'random') {
      f = Uint8Array.from({ length: 1 + rand(1600) }, () => rand(256));
      if (rand(2) === 0 && f.length > 14) [f[12], f[13]] = [[0x08, 0x86, 0x81, 0x88][rand(4)]!, [0x00, 0xdd, 0x00, 0xa8][rand(4)]!];
    } else if (kind === 'mutated') {
      f = Uint8Array.from(base);
      for (let flips = 1 + rand(6); flips > 0; flips--) f[rand(Math.min(f.length, 80))] = rand(256);
    } else if (kind === 'truncated') {
      f = base.slice(0, 1 + rand(base.length));
    } else if (kind === 'oversized') {
      // Past the MTU but in one buffer, or past a buffer (dropped on arrival, counted).
      const len = rand(2) === 0 ? 1515 + rand(DATA_ROOM - 1515 + 1) : DATA_ROOM + 1 + rand(9000 - DATA_ROOM);
      f = new Uint8Array(len);
      f.set(base.subarray(0, Math.min(base.length, len)));
      for (let j = base.length; j < len; j++) f[j] = rand(256);
    } else if (kind === 'lying-lengths') {
      f = Uint8Array.from(base);
      lie(f, rand);
    } else {
      const tags = 1 + rand(24);
      f = new Uint8Array(base.length + tags * 4);
      f.set(base.subarray(0, 12));
      for (let k = 0; k < tags; k++) f.set([rand(2) ? 0x81 : 0x88, rand(2) ? 0x00 : 0xa8, rand(16), rand(256)], 12 + k * 4);
      f.set(base.subarray(12), 12 + tags * 4);
    }
    frames.push(f);
  }
  return { frames, kinds };
}
