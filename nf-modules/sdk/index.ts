// The NetVM NF SDK (first cut). An NF re-exports the ABI functions and exports
// netvm_process(n: i32): void, which decides each packet of the burst.
export * from './abi';
export * from './bytes';
export * from './ether';
