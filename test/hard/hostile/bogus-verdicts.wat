;; Gives every packet something the host must refuse, by its index mod 6: a verdict
;; no ABI defines, a port that does not exist, an NF target behind itself, an NF
;; target past the chain's end, a length of 0, a length past its buffer's room.
;; expect: dropped
;; reason: nf hostile: in \d+, next 0, out 0, dropped 0, bad verdict [1-9]\d*, bad length [1-9]\d*
(module
  (import "env" "memory" (memory 4097))
  (func (export "netvm_abi_version") (result i32) (i32.const 1))
  (func (export "netvm_batch") (result i32) (i32.const 268435456))
  (func (export "netvm_max_burst") (result i32) (i32.const 256))
  (func (export "netvm_process") (param $n i32)
    (local $i i32) (local $rec i32) (local $kind i32)
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $rec (i32.add (i32.const 268435456) (i32.shl (local.get $i) (i32.const 4))))
        (local.set $kind (i32.rem_u (local.get $i) (i32.const 6)))
        (if (i32.eq (local.get $kind) (i32.const 0)) (then (i32.store offset=12 (local.get $rec) (i32.const 0x7777))))
        (if (i32.eq (local.get $kind) (i32.const 1)) (then (i32.store offset=12 (local.get $rec) (i32.const 0x10063))))
        (if (i32.eq (local.get $kind) (i32.const 2)) (then (i32.store offset=12 (local.get $rec) (i32.const 0x20000))))
        (if (i32.eq (local.get $kind) (i32.const 3)) (then (i32.store offset=12 (local.get $rec) (i32.const 0x20031))))
        (if (i32.eq (local.get $kind) (i32.const 4)) (then (i32.store offset=4 (local.get $rec) (i32.const 0))))
        (if (i32.eq (local.get $kind) (i32.const 5))
          (then (i32.store offset=4 (local.get $rec) (i32.add (i32.load16_u offset=10 (local.get $rec)) (i32.const 1)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each)))))
