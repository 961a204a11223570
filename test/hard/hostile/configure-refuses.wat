;; Refuses every config, after logging why.
;; expect: config-refused
;; reason: refused its config \(status 1\): no config pleases me
(module
  (import "env" "memory" (memory 4097))
  (import "env" "netvm_log" (func $log (param i32 i32 i32)))
  (data (i32.const 268439552) "no config pleases me")
  (func (export "netvm_abi_version") (result i32) (i32.const 1))
  (func (export "netvm_batch") (result i32) (i32.const 268435456))
  (func (export "netvm_max_burst") (result i32) (i32.const 256))
  (func (export "netvm_process") (param $n i32))
  (func (export "netvm_config_buffer") (param $len i32) (result i32) (i32.const 268443648))
  (func (export "netvm_configure") (param $ptr i32) (param $len i32) (result i32)
    (call $log (i32.const 3) (i32.const 268439552) (i32.const 20))
    (i32.const 1)))
