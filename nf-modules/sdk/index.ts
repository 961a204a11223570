// The NetVM NF SDK. An NF re-exports './exports' and exports
// netvm_process(n: i32): void, which decides each packet of the burst, and
// optionally netvm_configure(ptr: usize, len: i32): i32 (0 = accepted).
export * from './abi';
export * from './bytes';
export * from './ether';
export * from './packet';
export * from './checksum';
export * from './flow';
export * from './aho-corasick';
export * from './sketch';
export * from './addr';
export * from './json';
export { FlowTable, hashKey, hashKey16, FLOW_TABLE_MAX_CAPACITY } from './flow-table';
export * from './lpm4';
export * from './lpm6';
export { StateReader, StateWriter, openState } from './state';
export * from './messages';
export { LogLevel, log, nowNs, hostNowNs, nfIndex, counter, gauge, Counter, Gauge, configText, MAX_METRICS } from './host';
