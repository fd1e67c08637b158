#!/usr/bin/env bash
# Builds this example into <OUT_DIR>/wat-hostile.wasm from the hand-written core module
# hostile.wat (see scripts/toolchains/wat-component.sh).
# Called from the repository root: bash examples/wat-hostile/build.sh OUT_DIR
set -euo pipefail
OUT_DIR="${1:?usage: bash examples/wat-hostile/build.sh OUT_DIR}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec bash "$HERE/../../scripts/toolchains/wat-component.sh" "$HERE/hostile.wat" "$OUT_DIR" "$(basename "$HERE")"
