;; Defines a memory of its own instead of importing the host's.
;; expect: refused
;; reason: does not import its memory as env.memory
(module
  (memory (export "memory") 4097)
  (func (export "netvm_abi_version") (result i32) (i32.const 1))
  (func (export "netvm_batch") (result i32) (i32.const 268435456))
  (func (export "netvm_max_burst") (result i32) (i32.const 256))
  (func (export "netvm_process") (param $n i32)))
