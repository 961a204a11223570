// forward: every packet continues unchanged (the host presets NEXT).
export * from '../sdk/exports';

/** It reads no packet, nor the chain's parse of it (ABI v2, docs/abi.md). */
export function netvm_reads_meta(): i32 {
  return 0;
}

export function netvm_process(n: i32): void {}
