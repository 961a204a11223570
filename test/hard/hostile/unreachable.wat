;; Executes `unreachable` on every burst.
;; expect: trapped
;; reason: unreachable
(module
  (import "env" "memory" (memory 4097))
  (func (export "netvm_abi_version") (result i32) (i32.const 1))
  (func (export "netvm_batch") (result i32) (i32.const 268435456))
  (func (export "netvm_max_burst") (result i32) (i32.const 256))
  (func (export "netvm_process") (param $n i32) (unreachable)))
