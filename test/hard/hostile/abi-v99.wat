;; Speaks an ABI version this host does not.
;; expect: refused
;; reason: speaks NetVM ABI version 99; this host speaks versions 1 and 2
(module
  (import "env" "memory" (memory 4097))
  (func (export "netvm_abi_version") (result i32) (i32.const 99))
  (func (export "netvm_batch") (result i32) (i32.const 268435456))
  (func (export "netvm_max_burst") (result i32) (i32.const 256))
  (func (export "netvm_process") (param $n i32)))
