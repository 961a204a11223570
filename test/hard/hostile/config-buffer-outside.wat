;; Gives a config buffer outside its memory.
;; expect: config-refused
;; reason: netvm_config_buffer\(\d+\) returned 4294967292, outside its own memory
(module
  (import "env" "memory" (memory 4097))
  (func (export "netvm_abi_version") (result i32) (i32.const 1))
  (func (export "netvm_batch") (result i32) (i32.const 268435456))
  (func (export "netvm_max_burst") (result i32) (i32.const 256))
  (func (export "netvm_process") (param $n i32))
  (func (export "netvm_config_buffer") (param $len i32) (result i32) (i32.const 0xfffffffc))
  (func (export "netvm_configure") (param $ptr i32) (param $len i32) (result i32) (i32.const 0)))
