#!/usr/bin/env bash
# Builds the zulip catalog plugin into <OUT_DIR>/zulip.wasm with
# componentize-py, against contract 0.2 (wit/v0.2).
# Called from the repository root: bash plugins/zulip/build.sh OUT_DIR
#
# Reproducible: componentize-py runs CPython's initialisation inside
# wasmtime and snapshots its memory into the component, so the build
# machine's random bytes (hash secret, random module), clocks, file times
# and inode numbers, and the host's site-packages (which componentize-py
# adds to the guest's path: VIRTUAL_ENV, else `python3 -m site`), ended up
# in the .wasm. Here: scripts/toolchains/deterministic.c (preloaded into componentize-py only,
# seccomp part on, for wasmtime's raw system calls) fixes random bytes,
# clocks, file times and inode numbers; VIRTUAL_ENV points at an empty
# site-packages; the sources are copied with a fixed mtime. See README
# "Reproducible builds". Needs a C compiler (`cc`, or $CC).
set -euo pipefail
OUT_DIR="${1:?usage: bash plugins/zulip/build.sh OUT_DIR}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
NAME="$(basename "$HERE")"
mkdir -p "$OUT_DIR"
OUT_DIR="$(cd "$OUT_DIR" && pwd)"

COMPONENTIZE_PY="$(bash "$ROOT/scripts/toolchains/python.sh")"
# componentize-py bundles every file under -p, and CPython writes __pycache__
# there while componentizing: build from a fresh copy of src/ so the output
# does not depend on leftovers and the source tree is never written to.
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
cp -R "$HERE/src" "$TMP/src"
cp "$ROOT/guest-sdk/python/wasmpush_v2.py" "$TMP/src/"  # the request helpers' one home
find "$TMP/src" -exec touch -h -d @315532800 {} +
mkdir -p "$TMP/venv/lib/site-packages"
"${CC:-cc}" -shared -fPIC -O2 -o "$TMP/deterministic.so" "$HERE/../../scripts/toolchains/deterministic.c" -ldl
VIRTUAL_ENV="$TMP/venv" TOKIO_WORKER_THREADS=1 WASMPUSH_DET_SECCOMP=1 LD_PRELOAD="$TMP/deterministic.so" \
    "$COMPONENTIZE_PY" -d "$ROOT/wit/v0.2" -w generator componentize app -p "$TMP/src" -o "$TMP/$NAME.wasm" >/dev/null
mv -f "$TMP/$NAME.wasm" "$OUT_DIR/$NAME.wasm"
