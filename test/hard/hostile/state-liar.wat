;; Says its state is 4 GiB - 16 bytes long.
;; expect: state-refused
;; reason: netvm_state_export\(\) gave 4294967280 bytes
(module
  (import "env" "memory" (memory 4097))
  (data (i32.const 268439552) "\f0\ff\ff\ff")
  (func (export "netvm_abi_version") (result i32) (i32.const 1))
  (func (export "netvm_batch") (result i32) (i32.const 268435456))
  (func (export "netvm_max_burst") (result i32) (i32.const 256))
  (func (export "netvm_process") (param $n i32))
  (func (export "netvm_state_export") (result i32) (i32.const 268439552)))
