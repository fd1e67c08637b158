#!/usr/bin/env bash
# Builds the zulip catalog plugin into <OUT_DIR>/zulip.wasm with
# componentize-py, against contract 0.2 (wit/v0.2), reproducibly: src/ plus
# the request helpers, by guest-sdk/python/build.sh (which says how; see
# README "Reproducible builds"). Needs a C compiler (`cc`, or $CC).
# Called from the repository root: bash plugins/zulip/build.sh OUT_DIR
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec bash "$HERE/../../guest-sdk/python/build.sh" "$HERE/src" zulip "${1:?usage: bash plugins/zulip/build.sh OUT_DIR}"
