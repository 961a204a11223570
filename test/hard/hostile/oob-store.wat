;; Writes one byte past the end of its memory.
;; expect: trapped
;; reason: memory access out of bounds
(module
  (import "env" "memory" (memory 4097))
  (func (export "netvm_abi_version") (result i32) (i32.const 1))
  (func (export "netvm_batch") (result i32) (i32.const 268435456))
  (func (export "netvm_max_burst") (result i32) (i32.const 256))
  (func (export "netvm_process") (param $n i32)
    (i32.store8 (i32.mul (memory.size) (i32.const 65536)) (i32.const 0xee))))
