;; Logs 10,000 lines a burst, half of them from pointers outside its memory.
;; expect: contained
;; reason: nf hostile: \d+ log lines suppressed
(module
  (import "env" "memory" (memory 4097))
  (import "env" "netvm_log" (func $log (param i32 i32 i32)))
  (data (i32.const 268439552) "flood")
  (func (export "netvm_abi_version") (result i32) (i32.const 1))
  (func (export "netvm_batch") (result i32) (i32.const 268435456))
  (func (export "netvm_max_burst") (result i32) (i32.const 256))
  (func (export "netvm_process") (param $n i32)
    (local $i i32)
    (loop $each
      (call $log (i32.const 1) (i32.const 268439552) (i32.const 5))
      (call $log (i32.const 3) (i32.const 0xfffffff0) (i32.const 0x7fffffff))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $each (i32.lt_u (local.get $i) (i32.const 5000))))))
