#!/usr/bin/env bash
# Builds the discord catalog plugin into <OUT_DIR>/discord.wasm, against
# contract 0.2 (wit/v0.2).
# Called from the repository root: bash plugins/discord/build.sh OUT_DIR
#
# Engine: QuickJS via componentize-qjs (what `jco componentize --backend qjs`
# runs), non-async runtime (`--sync`), as examples/js-v2.
#
# Reproducible: componentize-qjs snapshots the initialised QuickJS heap
# into the component, and that heap held the build machine's random bytes
# and clock (Math.random state, atom hash seed, Date). scripts/toolchains/deterministic.c,
# preloaded into componentize-qjs only, gives it fixed random bytes, clocks
# and file times, so the same source gives the same bytes anywhere (the
# catalog lock, plugins/catalog.lock, depends on it). The module is named
# by a relative path (`app.js`, from src/) so the checkout's folder is not
# in the output either (nor the staging folder). Needs a C compiler (`cc`, or $CC).
set -euo pipefail
OUT_DIR="${1:?usage: bash plugins/discord/build.sh OUT_DIR}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
NAME="$(basename "$HERE")"
mkdir -p "$OUT_DIR"
OUT_DIR="$(cd "$OUT_DIR" && pwd)"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

PREFIX="$(bash "$ROOT/scripts/toolchains/js.sh" qjs)"
"${CC:-cc}" -shared -fPIC -O2 -o "$TMP/deterministic.so" "$HERE/../../scripts/toolchains/deterministic.c" -ldl
# The sources and the request helpers (guest-sdk/js, their one home) staged together.
cp -R "$HERE/src" "$TMP/src"
cp "$ROOT/guest-sdk/js/wasmpush_v2.js" "$TMP/src/"
(cd "$TMP/src" && LD_PRELOAD="$TMP/deterministic.so" \
    "$PREFIX/node_modules/.bin/componentize-qjs" --wit "$ROOT/wit/v0.2" --world generator \
    --js app.js --sync -o "$TMP/$NAME.wasm" >/dev/null)
mv -f "$TMP/$NAME.wasm" "$OUT_DIR/$NAME.wasm"
