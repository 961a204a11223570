;; Imports the granted netvm_log with the wrong type.
;; expect: refused
;; reason: imports env.netvm_log as \(i64\) -> \(\); the host grants \(i32, i32, i32\) -> \(\)
(module
  (import "env" "netvm_log" (func (param i64)))
  (import "env" "memory" (memory 4097))
  (func (export "netvm_abi_version") (result i32) (i32.const 1))
  (func (export "netvm_batch") (result i32) (i32.const 268435456))
  (func (export "netvm_max_burst") (result i32) (i32.const 256))
  (func (export "netvm_process") (param $n i32)))
