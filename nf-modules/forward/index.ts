// forward: every packet continues unchanged (the host presets NEXT).
export { netvm_abi_version, netvm_batch, netvm_max_burst } from '../sdk';

export function netvm_process(n: i32): void {}
