#!/usr/bin/env bash
# Builds this example into <OUT_DIR>/wat-hostile.wasm: hand-written core module
# (hostile.wat) -> `component embed` (attach the WIT) -> `component new`.
# Called from the repository root: bash examples/wat-hostile/build.sh OUT_DIR
set -euo pipefail
OUT_DIR="${1:?usage: bash examples/wat-hostile/build.sh OUT_DIR}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
NAME="$(basename "$HERE")"
mkdir -p "$OUT_DIR"
OUT_DIR="$(cd "$OUT_DIR" && pwd)"

WASM_TOOLS="$(bash "$ROOT/scripts/toolchains/wasm-tools.sh")"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
"$WASM_TOOLS" component embed "$ROOT/wit" --world generator "$HERE/hostile.wat" -o "$TMP/embedded.wasm"
"$WASM_TOOLS" component new "$TMP/embedded.wasm" -o "$TMP/$NAME.wasm"
"$WASM_TOOLS" validate --features all "$TMP/$NAME.wasm"
mv -f "$TMP/$NAME.wasm" "$OUT_DIR/$NAME.wasm"
