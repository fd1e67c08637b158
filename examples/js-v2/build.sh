#!/usr/bin/env bash
# Builds this example into <OUT_DIR>/js-v2.wasm, against contract 0.2
# (wit/v0.2): QuickJS via componentize-qjs (what `jco componentize --backend
# qjs` runs), non-async runtime (`--sync`), the toolchain js-github-status
# uses; src/ plus the request helpers (guest-sdk/js/wasmpush_v2.js;
# src/wasmpush_v2.js links to it), by guest-sdk/js/build.sh, as plugins/discord.
# Called from the repository root: bash examples/js-v2/build.sh OUT_DIR
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec bash "$HERE/../../guest-sdk/js/build.sh" "$HERE/src" js-v2 "${1:?usage: bash examples/js-v2/build.sh OUT_DIR}"
