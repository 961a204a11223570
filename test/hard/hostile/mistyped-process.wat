;; netvm_process takes an i64 instead of the i32 burst size.
;; expect: refused
;; reason: netvm_process has type \(i64\) -> \(\), not \(i32\) -> \(\)
(module
  (import "env" "memory" (memory 4097))
  (func (export "netvm_abi_version") (result i32) (i32.const 1))
  (func (export "netvm_batch") (result i32) (i32.const 268435456))
  (func (export "netvm_max_burst") (result i32) (i32.const 256))
  (func (export "netvm_process") (param $n i64)))
