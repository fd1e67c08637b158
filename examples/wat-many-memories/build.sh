#!/usr/bin/env bash
# Builds <OUT_DIR>/wat-many-memories.wasm: examples/wat-ping's generator,
# wrapped in a component that also instantiates one core module 200 times,
# each instance with a 64 MiB memory that its start function fills (12.5 GiB
# if nothing stopped it). The host must refuse it at load (pooling: too many
# core instances per component) or at instantiation (the memory limit counts
# every memory of the instance together). See README.md.
# Called from the repository root: bash examples/wat-many-memories/build.sh OUT_DIR
set -euo pipefail
OUT_DIR="${1:?usage: bash examples/wat-many-memories/build.sh OUT_DIR}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$HERE/../.."
WASM_TOOLS="$(bash "$ROOT/scripts/toolchains/wasm-tools.sh")"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
bash "$ROOT/scripts/toolchains/wat-component.sh" "$ROOT/examples/wat-ping/ping.wat" "$TMP" ping
"$WASM_TOOLS" print "$TMP/ping.wasm" > "$TMP/ping.wat"
{
  # Everything but the component's closing parenthesis, then the extra
  # definitions (appended, so no existing index moves), then the close.
  sed '$ d' "$TMP/ping.wat"
  echo '  (core module $bloat'
  echo '    (memory 1024)'
  echo '    (func $fill (memory.fill (i32.const 0) (i32.const 1) (i32.const 0x4000000)))'
  echo '    (start $fill))'
  for _ in $(seq 1 200); do echo '  (core instance (instantiate $bloat))'; done
  echo ')'
} > "$TMP/many.wat"
"$WASM_TOOLS" parse "$TMP/many.wat" -o "$TMP/wat-many-memories.wasm"
"$WASM_TOOLS" validate --features all "$TMP/wat-many-memories.wasm"
mkdir -p "$OUT_DIR"
mv -f "$TMP/wat-many-memories.wasm" "$OUT_DIR/wat-many-memories.wasm"
