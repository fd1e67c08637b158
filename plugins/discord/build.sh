#!/usr/bin/env bash
# Builds the discord catalog plugin into <OUT_DIR>/discord.wasm with
# componentize-qjs (QuickJS, `--sync`, as examples/js-v2), against contract
# 0.2 (wit/v0.2), reproducibly: src/ plus the request helpers, by
# guest-sdk/js/build.sh (which says how; see README "Reproducible builds").
# Needs a C compiler (`cc`, or $CC).
# Called from the repository root: bash plugins/discord/build.sh OUT_DIR
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec bash "$HERE/../../guest-sdk/js/build.sh" "$HERE/src" discord "${1:?usage: bash plugins/discord/build.sh OUT_DIR}"
