;; Asks for 2 GiB of memory to start, far past the 64 MiB heap it is given.
;; expect: refused
;; reason: needs 1792.0 MiB of heap to start; its limit is 64 MiB
;; heap_mb: 64
(module
  (import "env" "memory" (memory 32768))
  (func (export "netvm_abi_version") (result i32) (i32.const 1))
  (func (export "netvm_batch") (result i32) (i32.const 268435456))
  (func (export "netvm_max_burst") (result i32) (i32.const 256))
  (func (export "netvm_process") (param $n i32)))
