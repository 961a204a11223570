;; Puts its data at address 0, in the pool window's region.
;; expect: refused
;; reason: its data starts below 268435456
(module
  (import "env" "memory" (memory 16))
  (data (i32.const 0) "mine")
  (func (export "netvm_abi_version") (result i32) (i32.const 1))
  (func (export "netvm_batch") (result i32) (i32.const 4096))
  (func (export "netvm_max_burst") (result i32) (i32.const 256))
  (func (export "netvm_process") (param $n i32)))
