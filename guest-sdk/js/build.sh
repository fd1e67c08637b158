#!/usr/bin/env bash
# Builds a componentize-qjs generator (contract 0.2, wit/v0.2, module
# `app.js`) with the request helpers beside it, reproducibly:
#   bash guest-sdk/js/build.sh SRC_DIR NAME OUT_DIR   → OUT_DIR/NAME.wasm
# Used by plugins/discord/build.sh and examples/js-v2/build.sh.
#
# Engine: QuickJS via componentize-qjs (what `jco componentize --backend qjs`
# runs), non-async runtime (`--sync`). The build runs on a copy of SRC_DIR
# (links followed) plus wasmpush_v2.js (this folder's, its one home).
#
# Reproducible: componentize-qjs snapshots the initialised QuickJS heap
# into the component, and that heap held the build machine's random bytes
# and clock (Math.random state, atom hash seed, Date).
# scripts/toolchains/deterministic.c, preloaded into componentize-qjs only,
# gives it fixed random bytes, clocks and file times, so the same source
# gives the same bytes anywhere (the catalog lock, plugins/catalog.lock,
# depends on it). The module is named by a relative path (`app.js`) so
# neither the checkout's folder nor the staging folder is in the output.
# Needs a C compiler (`cc`, or $CC).
set -euo pipefail
SRC="${1:?usage: bash guest-sdk/js/build.sh SRC_DIR NAME OUT_DIR}"
NAME="${2:?usage: bash guest-sdk/js/build.sh SRC_DIR NAME OUT_DIR}"
OUT_DIR="${3:?usage: bash guest-sdk/js/build.sh SRC_DIR NAME OUT_DIR}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
mkdir -p "$OUT_DIR"
OUT_DIR="$(cd "$OUT_DIR" && pwd)"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

PREFIX="$(bash "$ROOT/scripts/toolchains/js.sh" qjs)"
"${CC:-cc}" -shared -fPIC -O2 -o "$TMP/deterministic.so" "$ROOT/scripts/toolchains/deterministic.c" -ldl
cp -RL "$SRC" "$TMP/src"
cp "$HERE/wasmpush_v2.js" "$TMP/src/"
(cd "$TMP/src" && LD_PRELOAD="$TMP/deterministic.so" \
    "$PREFIX/node_modules/.bin/componentize-qjs" --wit "$ROOT/wit/v0.2" --world generator \
    --js app.js --sync -o "$TMP/$NAME.wasm" >/dev/null)
mv -f "$TMP/$NAME.wasm" "$OUT_DIR/$NAME.wasm"
