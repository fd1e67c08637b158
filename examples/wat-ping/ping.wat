;; wat-ping: the smallest useful generator, written by hand in WebAssembly text.
;;
;; For every event it sends the fixed JSON
;;   {"ping":"wasmpush","event":"<event kind>"}
;; with content type application/json (no headers, no path), e.g. as a
;; heartbeat to an uptime monitor or to check a wasmpush deployment end to end.
;; It ignores the payload and the settings, and logs one debug line per event.
;;
;; This is a *core* module implementing the component model's canonical ABI by
;; hand for world wasmpush:plugin/generator; build.sh runs
;;   wasm-tools component embed wit --world generator ping.wat -o embedded.wasm
;;   wasm-tools component new embedded.wasm -o wat-ping.wasm
;; which checks every signature below against the WIT.
;;
;; Canonical ABI layouts used (all little-endian, offsets in bytes):
;;   string / list<T>             = ptr:i32 @0, len:i32 @4                    (size 8, align 4)
;;   needs   = properties:u8 @0, steps:u8 @1, logs:u8 @2,
;;             log-contents (variant: tag:u8 @4, list @8), previous-build:u8 @16 (size 20)
;;   info    = name @0, version @8, description @16, events:list<u8 enum> @24,
;;             needs @32                                                       (size 52)
;;   report  = body @0, content-type @8, headers @16, path:option<string> (tag @24, string @28)
;;   result<option<report>, generate-error>
;;           = tag:u8 @0 (0 ok), option tag:u8 @4 (1 some), report @8          (size 44)
;; `describe` and `generate` return a pointer to such an area (more than one
;; flat result). `generate` takes the event flattened into 5 i32:
;; kind, payload ptr, payload len, settings ptr, settings len.
(module
  ;; host.log(level: level, message: string): level is an enum (i32).
  (import "wasmpush:plugin/host@0.1.0" "log" (func $log (param i32 i32 i32)))

  (memory (export "memory") 1)

  ;; Static data, 0..511. Lengths are repeated in the code below.
  (data (i32.const 16) "wat-ping")                                            ;; 8
  (data (i32.const 32) "0.1.0")                                               ;; 5
  (data (i32.const 48) "fixed JSON ping for every event (hand-written WAT)")  ;; 50
  (data (i32.const 112) "\00\01\02")          ;; events: build-new, build-finished, buildset-complete
  (data (i32.const 128) "application/json")                                   ;; 16
  (data (i32.const 160) "{\"ping\":\"wasmpush\",\"event\":\"build-new\"}")          ;; 39
  (data (i32.const 208) "{\"ping\":\"wasmpush\",\"event\":\"build-finished\"}")     ;; 44
  (data (i32.const 256) "{\"ping\":\"wasmpush\",\"event\":\"buildset-complete\"}")  ;; 47
  (data (i32.const 320) "wat-ping: sending a ping")                           ;; 24

  ;; Return areas: info at 512 (52 bytes), generate's result at 576 (44 bytes).
  ;; Static areas are fine: the host gives every event a fresh instance and
  ;; reads the result before anything else runs.

  ;; Bump allocator for the host's lowering of `event` (payload and settings).
  ;; Never frees: the instance is dropped after one event.
  (global $heap (mut i32) (i32.const 1024))

  (func (export "cabi_realloc")
        (param $old i32) (param $old_size i32) (param $align i32) (param $new_size i32)
        (result i32)
    (local $ptr i32) (local $end i32) (local $pages i32)
    ;; ptr = align_up(heap, align); align is a power of two.
    (local.set $ptr
      (i32.and (i32.add (global.get $heap) (i32.sub (local.get $align) (i32.const 1)))
               (i32.sub (i32.const 0) (local.get $align))))
    (local.set $end (i32.add (local.get $ptr) (local.get $new_size)))
    ;; wrapped around the 4 GiB address space
    (if (i32.lt_u (local.get $end) (local.get $ptr)) (then unreachable))
    ;; pages needed = ceil(end / 64 KiB), without overflowing
    (local.set $pages
      (i32.add (i32.shr_u (local.get $end) (i32.const 16))
               (i32.ne (i32.and (local.get $end) (i32.const 0xffff)) (i32.const 0))))
    (if (i32.gt_u (local.get $pages) (memory.size))
      (then
        (if (i32.eq (memory.grow (i32.sub (local.get $pages) (memory.size))) (i32.const -1))
          (then unreachable))))
    ;; a real realloc keeps the old bytes
    (if (local.get $old)
      (then
        (memory.copy (local.get $ptr) (local.get $old)
          (select (local.get $old_size) (local.get $new_size)
                  (i32.lt_u (local.get $old_size) (local.get $new_size))))))
    (global.set $heap (local.get $end))
    (local.get $ptr))

  ;; describe: func() -> info
  (func (export "describe") (result i32)
    (i32.store (i32.const 512) (i32.const 16))   ;; name.ptr
    (i32.store (i32.const 516) (i32.const 8))    ;; name.len
    (i32.store (i32.const 520) (i32.const 32))   ;; version.ptr
    (i32.store (i32.const 524) (i32.const 5))    ;; version.len
    (i32.store (i32.const 528) (i32.const 48))   ;; description.ptr
    (i32.store (i32.const 532) (i32.const 50))   ;; description.len
    (i32.store (i32.const 536) (i32.const 112))  ;; events.ptr
    (i32.store (i32.const 540) (i32.const 3))    ;; events.len
    ;; needs at 544: properties/steps/logs = false, log-contents = none,
    ;; previous-build = false
    (i32.store (i32.const 544) (i32.const 0))
    (i32.store (i32.const 548) (i32.const 0))
    (i32.store8 (i32.const 560) (i32.const 0))
    (i32.const 512))

  ;; generate: func(event) -> result<option<report>, generate-error>
  (func (export "generate")
        (param $kind i32) (param $payload i32) (param $payload_len i32)
        (param $settings i32) (param $settings_len i32)
        (result i32)
    (local $body i32) (local $body_len i32)
    (if (i32.eq (local.get $kind) (i32.const 0))
      (then (local.set $body (i32.const 160)) (local.set $body_len (i32.const 39)))
      (else
        (if (i32.eq (local.get $kind) (i32.const 1))
          (then (local.set $body (i32.const 208)) (local.set $body_len (i32.const 44)))
          (else (local.set $body (i32.const 256)) (local.set $body_len (i32.const 47))))))
    ;; level debug = 1
    (call $log (i32.const 1) (i32.const 320) (i32.const 24))
    (i32.store8 (i32.const 576) (i32.const 0))   ;; result: ok
    (i32.store8 (i32.const 580) (i32.const 1))   ;; option: some
    (i32.store (i32.const 584) (local.get $body))
    (i32.store (i32.const 588) (local.get $body_len))
    (i32.store (i32.const 592) (i32.const 128))  ;; content-type
    (i32.store (i32.const 596) (i32.const 16))
    (i32.store (i32.const 600) (i32.const 0))    ;; headers: empty list
    (i32.store (i32.const 604) (i32.const 0))
    (i32.store8 (i32.const 608) (i32.const 0))   ;; path: none
    (i32.const 576))
)
