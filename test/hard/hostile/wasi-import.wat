;; Imports a WASI function, which the host does not grant.
;; expect: refused
;; reason: imports wasi_snapshot_preview1.fd_write \(function\), which the host does not grant
(module
  (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
  (import "env" "memory" (memory 4097))
  (func (export "netvm_abi_version") (result i32) (i32.const 1))
  (func (export "netvm_batch") (result i32) (i32.const 268435456))
  (func (export "netvm_max_burst") (result i32) (i32.const 256))
  (func (export "netvm_process") (param $n i32)))
