;; Grows its memory a MiB at a time until refused (its heap limit is 16 MiB),
;; then writes where the refused MiB would have been. (A page at a time is slow:
;; V8 takes about 0.5 ms per grow of a 256 MiB memory.)
;; expect: trapped
;; reason: memory access out of bounds
;; heap_mb: 16
(module
  (import "env" "memory" (memory 4097))
  (func (export "netvm_abi_version") (result i32) (i32.const 1))
  (func (export "netvm_batch") (result i32) (i32.const 268435456))
  (func (export "netvm_max_burst") (result i32) (i32.const 256))
  (func (export "netvm_process") (param $n i32)
    (loop $more (br_if $more (i32.ne (memory.grow (i32.const 16)) (i32.const -1))))
    (i32.store (i32.mul (memory.size) (i32.const 65536)) (i32.const 1))))
