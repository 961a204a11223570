;; Recurses without end: the engine's stack runs out.
;; expect: trapped
;; reason: Maximum call stack size exceeded
(module
  (import "env" "memory" (memory 4097))
  (func $down (param $depth i32) (result i32)
    (i32.add (call $down (i32.add (local.get $depth) (i32.const 1))) (i32.const 1)))
  (func (export "netvm_abi_version") (result i32) (i32.const 1))
  (func (export "netvm_batch") (result i32) (i32.const 268435456))
  (func (export "netvm_max_burst") (result i32) (i32.const 256))
  (func (export "netvm_process") (param $n i32) (drop (call $down (i32.const 0)))))
