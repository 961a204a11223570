;; Says its batch area is beyond its memory.
;; expect: refused
;; reason: netvm_batch\(\) returned 4294967040, which is not a 4-byte aligned area
(module
  (import "env" "memory" (memory 4097))
  (func (export "netvm_abi_version") (result i32) (i32.const 1))
  (func (export "netvm_batch") (result i32) (i32.const 0xffffff00))
  (func (export "netvm_max_burst") (result i32) (i32.const 256))
  (func (export "netvm_process") (param $n i32)))
