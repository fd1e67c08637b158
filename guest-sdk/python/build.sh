#!/usr/bin/env bash
# Builds a componentize-py generator (contract 0.2, wit/v0.2, module `app`)
# with the request helpers beside it, reproducibly:
#   bash guest-sdk/python/build.sh SRC_DIR NAME OUT_DIR   → OUT_DIR/NAME.wasm
# Used by plugins/zulip/build.sh and examples/python-v2/build.sh.
#
# componentize-py bundles every file under -p, and CPython writes __pycache__
# there while componentizing: the build runs on a fresh copy of SRC_DIR (links
# followed) plus wasmpush_v2.py (this folder's, its one home), so the output
# does not depend on leftovers and the source tree is never written to.
#
# Reproducible: componentize-py runs CPython's initialisation inside
# wasmtime and snapshots its memory into the component, so the build
# machine's random bytes (hash secret, random module), clocks, file times
# and inode numbers, and the host's site-packages (which componentize-py
# adds to the guest's path: VIRTUAL_ENV, else `python3 -m site`), ended up
# in the .wasm. Here: scripts/toolchains/deterministic.c (preloaded into
# componentize-py only, seccomp part on, for wasmtime's raw system calls)
# fixes random bytes, clocks, file times and inode numbers; VIRTUAL_ENV
# points at an empty site-packages; the sources are copied with a fixed
# mtime. See plugins/zulip/README.md "Reproducible builds". Needs a C
# compiler (`cc`, or $CC).
set -euo pipefail
SRC="${1:?usage: bash guest-sdk/python/build.sh SRC_DIR NAME OUT_DIR}"
NAME="${2:?usage: bash guest-sdk/python/build.sh SRC_DIR NAME OUT_DIR}"
OUT_DIR="${3:?usage: bash guest-sdk/python/build.sh SRC_DIR NAME OUT_DIR}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
mkdir -p "$OUT_DIR"
OUT_DIR="$(cd "$OUT_DIR" && pwd)"

COMPONENTIZE_PY="$(bash "$ROOT/scripts/toolchains/python.sh")"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
cp -RL "$SRC" "$TMP/src"
cp "$HERE/wasmpush_v2.py" "$TMP/src/"
find "$TMP/src" -exec touch -h -d @315532800 {} +
mkdir -p "$TMP/venv/lib/site-packages"
"${CC:-cc}" -shared -fPIC -O2 -o "$TMP/deterministic.so" "$ROOT/scripts/toolchains/deterministic.c" -ldl
VIRTUAL_ENV="$TMP/venv" TOKIO_WORKER_THREADS=1 WASMPUSH_DET_SECCOMP=1 LD_PRELOAD="$TMP/deterministic.so" \
    "$COMPONENTIZE_PY" -d "$ROOT/wit/v0.2" -w generator componentize app -p "$TMP/src" -o "$TMP/$NAME.wasm" >/dev/null
mv -f "$TMP/$NAME.wasm" "$OUT_DIR/$NAME.wasm"
