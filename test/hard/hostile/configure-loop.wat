;; Never returns from netvm_configure.
;; expect: config-refused
;; reason: did not return from its start, ABI and configure calls within 2000 ms
(module
  (import "env" "memory" (memory 4097))
  (func (export "netvm_abi_version") (result i32) (i32.const 1))
  (func (export "netvm_batch") (result i32) (i32.const 268435456))
  (func (export "netvm_max_burst") (result i32) (i32.const 256))
  (func (export "netvm_process") (param $n i32))
  (func (export "netvm_config_buffer") (param $len i32) (result i32) (i32.const 268443648))
  (func (export "netvm_configure") (param $ptr i32) (param $len i32) (result i32)
    (loop $forever (br $forever))
    (i32.const 0)))
