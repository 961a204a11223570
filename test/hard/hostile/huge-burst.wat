;; Asks for bursts of 2^31-1 packets: its batch area cannot hold them.
;; expect: refused
;; reason: not a 4-byte aligned area of 2147483647 records
(module
  (import "env" "memory" (memory 4097))
  (func (export "netvm_abi_version") (result i32) (i32.const 1))
  (func (export "netvm_batch") (result i32) (i32.const 268435456))
  (func (export "netvm_max_burst") (result i32) (i32.const 0x7fffffff))
  (func (export "netvm_process") (param $n i32)))
