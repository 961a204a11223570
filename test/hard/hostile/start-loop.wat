;; Never returns from its start function.
;; expect: refused
;; reason: did not return from its start, ABI and configure calls within 2000 ms
(module
  (import "env" "memory" (memory 4097))
  (func $start (loop $forever (br $forever)))
  (start $start)
  (func (export "netvm_abi_version") (result i32) (i32.const 1))
  (func (export "netvm_batch") (result i32) (i32.const 268435456))
  (func (export "netvm_max_burst") (result i32) (i32.const 256))
  (func (export "netvm_process") (param $n i32)))
