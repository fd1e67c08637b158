;; wat-hostile: a generator that misbehaves on purpose, for the host's tests.
;; Never configure it for real builds.
;;
;; The setting `mode` picks the misbehaviour (default: loop):
;;   loop         spins forever                           -> host time limit
;;   unreachable  executes `unreachable`                  -> trap
;;   stack        recurses without end                    -> stack-overflow trap
;;   grow         memory.grow 1 MiB at a time until refused, then returns
;;                generate-error "wat-hostile: memory.grow was refused"
;;                                                        -> host memory limit
;;   big-body     grows memory by 16 MiB and returns it all as the body
;;                                                        -> host body-size limit
;;   bad-utf8     content-type is not UTF-8               -> lifting error
;;   bad-pointer  body points past the end of memory      -> lifting error
;;   bad-header   asks for header `Authorization: Bearer stolen-by-a-plugin`
;;                                                        -> host refuses the header
;;   bad-path     asks for path `../../admin`             -> host refuses the path
;;   spam         calls host.log 1,000,000 times, then returns body `{}`
;;                                                        -> host log budget
;; Any other value returns generate-error "wat-hostile: unknown mode (...)".
;;
;; Canonical ABI by hand, same layouts as examples/wat-ping/ping.wat:
;;   info @0 name, @8 version, @16 description, @24 events, @32 needs (size 52)
;;   result<option<report>, generate-error>: tag:u8 @0; ok: option tag:u8 @4,
;;   report @8 (body @8, content-type @16, headers @24, path tag @32 / string @36);
;;   err: message string @4.
;;   settings: list<tuple<string, string>>, element 16 bytes: key @0, value @8.
(module
  (import "wasmpush:plugin/host@0.1.0" "log" (func $log (param i32 i32 i32)))

  (memory (export "memory") 1)

  (data (i32.const 16) "wat-hostile")                                         ;; 11
  (data (i32.const 32) "0.1.0")                                               ;; 5
  (data (i32.const 48) "misbehaves on purpose (setting mode), for tests")     ;; 47
  (data (i32.const 112) "\00\01\02")
  (data (i32.const 128) "application/json")                                   ;; 16
  (data (i32.const 160) "mode")                                               ;; 4
  (data (i32.const 176) "loop")                                               ;; 4
  (data (i32.const 184) "unreachable")                                        ;; 11
  (data (i32.const 200) "stack")                                              ;; 5
  (data (i32.const 208) "grow")                                               ;; 4
  (data (i32.const 216) "big-body")                                           ;; 8
  (data (i32.const 232) "bad-utf8")                                           ;; 8
  (data (i32.const 248) "bad-pointer")                                        ;; 11
  (data (i32.const 264) "bad-header")                                         ;; 10
  (data (i32.const 280) "bad-path")                                           ;; 8
  (data (i32.const 296) "spam")                                               ;; 4
  (data (i32.const 304) "\ff\fe\fd")                                          ;; 3, not UTF-8
  (data (i32.const 320) "Authorization")                                      ;; 13
  (data (i32.const 336) "Bearer stolen-by-a-plugin")                          ;; 25
  (data (i32.const 368) "../../admin")                                        ;; 11
  (data (i32.const 384) "wat-hostile: unknown mode (loop, unreachable, stack, grow, big-body, bad-utf8, bad-pointer, bad-header, bad-path, spam)")  ;; 119
  (data (i32.const 512) "wat-hostile: memory.grow was refused")               ;; 36
  (data (i32.const 560) "wat-hostile: spam")                                  ;; 17
  (data (i32.const 592) "{}")                                                 ;; 2
  ;; return areas: info @640 (52 bytes), generate's result @704 (44 bytes)
  ;; header tuple for bad-header @768: (name ptr, len, value ptr, len)

  (global $heap (mut i32) (i32.const 1024))

  ;; Same bump allocator as wat-ping: the host lowers the event through it.
  (func (export "cabi_realloc")
        (param $old i32) (param $old_size i32) (param $align i32) (param $new_size i32)
        (result i32)
    (local $ptr i32) (local $end i32) (local $pages i32)
    (local.set $ptr
      (i32.and (i32.add (global.get $heap) (i32.sub (local.get $align) (i32.const 1)))
               (i32.sub (i32.const 0) (local.get $align))))
    (local.set $end (i32.add (local.get $ptr) (local.get $new_size)))
    (if (i32.lt_u (local.get $end) (local.get $ptr)) (then unreachable))
    (local.set $pages
      (i32.add (i32.shr_u (local.get $end) (i32.const 16))
               (i32.ne (i32.and (local.get $end) (i32.const 0xffff)) (i32.const 0))))
    (if (i32.gt_u (local.get $pages) (memory.size))
      (then
        (if (i32.eq (memory.grow (i32.sub (local.get $pages) (memory.size))) (i32.const -1))
          (then unreachable))))
    (if (local.get $old)
      (then
        (memory.copy (local.get $ptr) (local.get $old)
          (select (local.get $old_size) (local.get $new_size)
                  (i32.lt_u (local.get $old_size) (local.get $new_size))))))
    (global.set $heap (local.get $end))
    (local.get $ptr))

  ;; 1 when the byte strings (a, alen) and (b, blen) are equal.
  (func $eq (param $a i32) (param $alen i32) (param $b i32) (param $blen i32) (result i32)
    (local $i i32)
    (if (i32.ne (local.get $alen) (local.get $blen)) (then (return (i32.const 0))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $alen)))
        (if (i32.ne (i32.load8_u (i32.add (local.get $a) (local.get $i)))
                    (i32.load8_u (i32.add (local.get $b) (local.get $i))))
          (then (return (i32.const 0))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i32.const 1))

  ;; The mode number (0 loop ... 9 spam, 99 unknown) from the settings list.
  (func $mode (param $list i32) (param $n i32) (result i32)
    (local $entry i32) (local $end i32) (local $v i32) (local $vlen i32)
    (local.set $entry (local.get $list))
    (local.set $end (i32.add (local.get $list) (i32.mul (local.get $n) (i32.const 16))))
    (block $found
      (loop $next
        (if (i32.ge_u (local.get $entry) (local.get $end)) (then (return (i32.const 0))))
        (br_if $found
          (call $eq (i32.load (local.get $entry)) (i32.load offset=4 (local.get $entry))
                    (i32.const 160) (i32.const 4)))
        (local.set $entry (i32.add (local.get $entry) (i32.const 16)))
        (br $next)))
    (local.set $v (i32.load offset=8 (local.get $entry)))
    (local.set $vlen (i32.load offset=12 (local.get $entry)))
    (if (call $eq (local.get $v) (local.get $vlen) (i32.const 176) (i32.const 4)) (then (return (i32.const 0))))
    (if (call $eq (local.get $v) (local.get $vlen) (i32.const 184) (i32.const 11)) (then (return (i32.const 1))))
    (if (call $eq (local.get $v) (local.get $vlen) (i32.const 200) (i32.const 5)) (then (return (i32.const 2))))
    (if (call $eq (local.get $v) (local.get $vlen) (i32.const 208) (i32.const 4)) (then (return (i32.const 3))))
    (if (call $eq (local.get $v) (local.get $vlen) (i32.const 216) (i32.const 8)) (then (return (i32.const 4))))
    (if (call $eq (local.get $v) (local.get $vlen) (i32.const 232) (i32.const 8)) (then (return (i32.const 5))))
    (if (call $eq (local.get $v) (local.get $vlen) (i32.const 248) (i32.const 11)) (then (return (i32.const 6))))
    (if (call $eq (local.get $v) (local.get $vlen) (i32.const 264) (i32.const 10)) (then (return (i32.const 7))))
    (if (call $eq (local.get $v) (local.get $vlen) (i32.const 280) (i32.const 8)) (then (return (i32.const 8))))
    (if (call $eq (local.get $v) (local.get $vlen) (i32.const 296) (i32.const 4)) (then (return (i32.const 9))))
    (i32.const 99))

  ;; Endless recursion; the add after the call keeps it from being a tail call.
  (func $recurse (param $depth i32) (result i32)
    (i32.add (call $recurse (i32.add (local.get $depth) (i32.const 1))) (i32.const 1)))

  ;; Fills the result area with ok(some(report)).
  (func $report (param $body i32) (param $body_len i32) (param $ct i32) (param $ct_len i32) (result i32)
    (i32.store8 (i32.const 704) (i32.const 0))
    (i32.store8 (i32.const 708) (i32.const 1))
    (i32.store (i32.const 712) (local.get $body))
    (i32.store (i32.const 716) (local.get $body_len))
    (i32.store (i32.const 720) (local.get $ct))
    (i32.store (i32.const 724) (local.get $ct_len))
    (i32.store (i32.const 728) (i32.const 0))
    (i32.store (i32.const 732) (i32.const 0))
    (i32.store8 (i32.const 736) (i32.const 0))
    (i32.const 704))

  ;; Fills the result area with err(generate-error { message }).
  (func $error (param $msg i32) (param $len i32) (result i32)
    (i32.store8 (i32.const 704) (i32.const 1))
    (i32.store (i32.const 708) (local.get $msg))
    (i32.store (i32.const 712) (local.get $len))
    (i32.const 704))

  (func (export "describe") (result i32)
    (i32.store (i32.const 640) (i32.const 16))
    (i32.store (i32.const 644) (i32.const 11))
    (i32.store (i32.const 648) (i32.const 32))
    (i32.store (i32.const 652) (i32.const 5))
    (i32.store (i32.const 656) (i32.const 48))
    (i32.store (i32.const 660) (i32.const 47))
    (i32.store (i32.const 664) (i32.const 112))
    (i32.store (i32.const 668) (i32.const 3))
    (i32.store (i32.const 672) (i32.const 0))    ;; needs: all false, log-contents none
    (i32.store (i32.const 676) (i32.const 0))
    (i32.store8 (i32.const 688) (i32.const 0))
    (i32.const 640))

  (func (export "generate")
        (param $kind i32) (param $payload i32) (param $payload_len i32)
        (param $settings i32) (param $settings_len i32)
        (result i32)
    (local $mode i32) (local $old i32) (local $i i32)
    (local.set $mode (call $mode (local.get $settings) (local.get $settings_len)))
    ;; loop
    (if (i32.eqz (local.get $mode))
      (then (loop $forever (br $forever))))
    ;; unreachable
    (if (i32.eq (local.get $mode) (i32.const 1)) (then unreachable))
    ;; stack
    (if (i32.eq (local.get $mode) (i32.const 2))
      (then (drop (call $recurse (i32.const 0)))))
    ;; grow: 16 pages (1 MiB) at a time until refused
    (if (i32.eq (local.get $mode) (i32.const 3))
      (then
        (loop $more
          (br_if $more (i32.ne (memory.grow (i32.const 16)) (i32.const -1))))
        (return (call $error (i32.const 512) (i32.const 36)))))
    ;; big-body: 256 new pages = 16 MiB of zero bytes as the body
    (if (i32.eq (local.get $mode) (i32.const 4))
      (then
        (local.set $old (memory.grow (i32.const 256)))
        (if (i32.eq (local.get $old) (i32.const -1))
          (then (return (call $error (i32.const 512) (i32.const 36)))))
        (return (call $report (i32.shl (local.get $old) (i32.const 16)) (i32.const 0x1000000)
                              (i32.const 128) (i32.const 16)))))
    ;; bad-utf8
    (if (i32.eq (local.get $mode) (i32.const 5))
      (then (return (call $report (i32.const 592) (i32.const 2) (i32.const 304) (i32.const 3)))))
    ;; bad-pointer: 1 KiB starting 64 KiB below the 4 GiB end of the address space
    (if (i32.eq (local.get $mode) (i32.const 6))
      (then (return (call $report (i32.const 0xffff0000) (i32.const 1024) (i32.const 128) (i32.const 16)))))
    ;; bad-header
    (if (i32.eq (local.get $mode) (i32.const 7))
      (then
        (drop (call $report (i32.const 592) (i32.const 2) (i32.const 128) (i32.const 16)))
        (i32.store (i32.const 768) (i32.const 320))
        (i32.store (i32.const 772) (i32.const 13))
        (i32.store (i32.const 776) (i32.const 336))
        (i32.store (i32.const 780) (i32.const 25))
        (i32.store (i32.const 728) (i32.const 768))  ;; headers.ptr
        (i32.store (i32.const 732) (i32.const 1))    ;; headers.len
        (return (i32.const 704))))
    ;; bad-path
    (if (i32.eq (local.get $mode) (i32.const 8))
      (then
        (drop (call $report (i32.const 592) (i32.const 2) (i32.const 128) (i32.const 16)))
        (i32.store8 (i32.const 736) (i32.const 1))   ;; path: some
        (i32.store (i32.const 740) (i32.const 368))
        (i32.store (i32.const 744) (i32.const 11))
        (return (i32.const 704))))
    ;; spam
    (if (i32.eq (local.get $mode) (i32.const 9))
      (then
        (block $done
          (loop $next
            (br_if $done (i32.ge_u (local.get $i) (i32.const 1000000)))
            (call $log (i32.const 2) (i32.const 560) (i32.const 17))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $next)))
        (return (call $report (i32.const 592) (i32.const 2) (i32.const 128) (i32.const 16)))))
    (call $error (i32.const 384) (i32.const 119)))
)
