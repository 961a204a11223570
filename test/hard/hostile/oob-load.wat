;; Reads 4 bytes near the top of the 32-bit address space, far past its memory.
;; expect: trapped
;; reason: memory access out of bounds
(module
  (import "env" "memory" (memory 4097))
  (func (export "netvm_abi_version") (result i32) (i32.const 1))
  (func (export "netvm_batch") (result i32) (i32.const 268435456))
  (func (export "netvm_max_burst") (result i32) (i32.const 256))
  (func (export "netvm_process") (param $n i32)
    (drop (i32.load (i32.const 0xfffffff0)))))
