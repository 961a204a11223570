// forward: every packet continues unchanged (the host presets NEXT).
export * from '../sdk/exports';

export function netvm_process(n: i32): void {}
