#!/usr/bin/env bash
# Builds this example into <OUT_DIR>/wat-ping.wasm from the hand-written core module
# ping.wat (see scripts/toolchains/wat-component.sh).
# Called from the repository root: bash examples/wat-ping/build.sh OUT_DIR
set -euo pipefail
OUT_DIR="${1:?usage: bash examples/wat-ping/build.sh OUT_DIR}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec bash "$HERE/../../scripts/toolchains/wat-component.sh" "$HERE/ping.wat" "$OUT_DIR" "$(basename "$HERE")"
