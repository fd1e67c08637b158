#!/usr/bin/env bash
# Builds this example into <OUT_DIR>/js-github-status.wasm.
# Called from the repository root: bash examples/js-github-status/build.sh OUT_DIR
#
# Engine: QuickJS via componentize-qjs (what `jco componentize --backend qjs`
# runs), non-async runtime (`--sync`; wasmtime 48 without component-model
# async). WASMPUSH_JS_BACKEND=starlingmonkey builds with componentize-js
# (SpiderMonkey) instead: ~7x bigger and slower to load, see docs/languages/js.md.
set -euo pipefail
OUT_DIR="${1:?usage: bash examples/js-github-status/build.sh OUT_DIR}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
NAME="$(basename "$HERE")"
mkdir -p "$OUT_DIR"
OUT_DIR="$(cd "$OUT_DIR" && pwd)"
TMP_OUT="$OUT_DIR/$NAME.wasm.tmp"

case "${WASMPUSH_JS_BACKEND:-qjs}" in
    qjs|quickjs)
        PREFIX="$(bash "$ROOT/scripts/toolchains/js.sh" qjs)"
        "$PREFIX/node_modules/.bin/componentize-qjs" --wit "$ROOT/wit" --world generator \
            --js "$HERE/src/app.js" --sync -o "$TMP_OUT" >/dev/null
        ;;
    sm|starlingmonkey)
        PREFIX="$(bash "$ROOT/scripts/toolchains/js.sh" starlingmonkey)"
        node "$ROOT/scripts/toolchains/componentize-sm.mjs" "$PREFIX" "$ROOT/wit" generator \
            "$HERE/src/app.js" "$TMP_OUT"
        ;;
    *) echo "unknown WASMPUSH_JS_BACKEND '${WASMPUSH_JS_BACKEND}' (qjs or starlingmonkey)" >&2; exit 2 ;;
esac
mv -f "$TMP_OUT" "$OUT_DIR/$NAME.wasm"
