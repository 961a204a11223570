// What every NF exports besides its own netvm_process (and, if it takes a
// config, netvm_configure; if it hands state over, netvm_state_export/import): `export * from '../sdk/exports';`
export { netvm_abi_version, netvm_batch, netvm_max_burst } from './abi';
export { netvm_clock, netvm_config_buffer, netvm_metrics } from './host';
export { netvm_state_buffer } from './state';
