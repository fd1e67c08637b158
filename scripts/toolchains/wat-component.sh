#!/usr/bin/env bash
# Turns a hand-written core module into a generator component:
#   bash scripts/toolchains/wat-component.sh FILE.wat OUT_DIR NAME
# FILE.wat -> `component embed` (attach wit/, world generator) -> `component new`
# -> validate -> OUT_DIR/NAME.wasm. Shared by the WAT examples' build.sh.
set -euo pipefail
WAT="$1"; OUT_DIR="$2"; NAME="$3"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
mkdir -p "$OUT_DIR"
OUT_DIR="$(cd "$OUT_DIR" && pwd)"
WASM_TOOLS="$(bash "$ROOT/scripts/toolchains/wasm-tools.sh")"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
"$WASM_TOOLS" component embed "$ROOT/wit" --world generator "$WAT" -o "$TMP/embedded.wasm"
"$WASM_TOOLS" component new "$TMP/embedded.wasm" -o "$TMP/$NAME.wasm"
"$WASM_TOOLS" validate --features all "$TMP/$NAME.wasm"
mv -f "$TMP/$NAME.wasm" "$OUT_DIR/$NAME.wasm"
