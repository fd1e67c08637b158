#!/usr/bin/env bash
# Builds this example into <OUT_DIR>/python-v2.wasm with componentize-py,
# against contract 0.2 (wit/v0.2).
# Called from the repository root: bash examples/python-v2/build.sh OUT_DIR
set -euo pipefail
OUT_DIR="${1:?usage: bash examples/python-v2/build.sh OUT_DIR}"
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
# -L: src/wasmpush_v2.py links to guest-sdk/python/wasmpush_v2.py (its one home).
cp -RL "$HERE/src" "$TMP/src"
"$COMPONENTIZE_PY" -d "$ROOT/wit/v0.2" -w generator componentize app -p "$TMP/src" -o "$TMP/$NAME.wasm" >/dev/null
mv -f "$TMP/$NAME.wasm" "$OUT_DIR/$NAME.wasm"
