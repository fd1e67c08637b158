#!/usr/bin/env bash
# Builds this example into <OUT_DIR>/c-summary.wasm:
#   wit-bindgen c (bindings from ../../wit) -> clang-19 wasm32-wasi reactor
#   (+ generator_component_type.o, which carries the WIT into the core module)
#   -> wasm-tools component new --adapt (WASI preview1 reactor adapter).
# Called from the repository root: bash examples/c-summary/build.sh OUT_DIR
set -euo pipefail
OUT_DIR="${1:?usage: bash examples/c-summary/build.sh OUT_DIR}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
NAME="$(basename "$HERE")"
mkdir -p "$OUT_DIR"
OUT_DIR="$(cd "$OUT_DIR" && pwd)"

# Sets CLANG, WASI_SYSROOT, WIT_BINDGEN, WASM_TOOLS, WASI_ADAPTER.
eval "$(bash "$ROOT/scripts/toolchains/c.sh")"

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
"$WIT_BINDGEN" c "$ROOT/wit" --world generator --out-dir "$TMP/bindings" >/dev/null 2>&1
"$CLANG" --target=wasm32-wasi --sysroot="$WASI_SYSROOT" -mexec-model=reactor \
    -O2 -std=c11 -Wall -Wextra -Werror -Wno-unused-parameter \
    -I "$TMP/bindings" "$HERE/summary.c" "$TMP/bindings/generator.c" \
    "$TMP/bindings/generator_component_type.o" \
    -Wl,--strip-all -o "$TMP/core.wasm"
"$WASM_TOOLS" component new "$TMP/core.wasm" \
    --adapt "wasi_snapshot_preview1=$WASI_ADAPTER" -o "$TMP/$NAME.wasm"
mv -f "$TMP/$NAME.wasm" "$OUT_DIR/$NAME.wasm"
