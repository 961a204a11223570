;; Traps in its start function, while being instantiated.
;; expect: refused
;; reason: instantiation failed: unreachable
(module
  (import "env" "memory" (memory 4097))
  (func $start (unreachable))
  (start $start)
  (func (export "netvm_abi_version") (result i32) (i32.const 1))
  (func (export "netvm_batch") (result i32) (i32.const 268435456))
  (func (export "netvm_max_burst") (result i32) (i32.const 256))
  (func (export "netvm_process") (param $n i32)))
