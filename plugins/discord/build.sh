#!/usr/bin/env bash
# Builds the discord catalog plugin into <OUT_DIR>/discord.wasm, against
# contract 0.2 (wit/v0.2).
# Called from the repository root: bash plugins/discord/build.sh OUT_DIR
#
# Engine: QuickJS via componentize-qjs (what `jco componentize --backend qjs`
# runs), non-async runtime (`--sync`), as examples/js-v2.
set -euo pipefail
OUT_DIR="${1:?usage: bash plugins/discord/build.sh OUT_DIR}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
NAME="$(basename "$HERE")"
mkdir -p "$OUT_DIR"
OUT_DIR="$(cd "$OUT_DIR" && pwd)"
TMP_OUT="$OUT_DIR/$NAME.wasm.tmp"

PREFIX="$(bash "$ROOT/scripts/toolchains/js.sh" qjs)"
"$PREFIX/node_modules/.bin/componentize-qjs" --wit "$ROOT/wit/v0.2" --world generator \
    --js "$HERE/src/app.js" --sync -o "$TMP_OUT" >/dev/null
mv -f "$TMP_OUT" "$OUT_DIR/$NAME.wasm"
