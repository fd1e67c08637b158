#!/usr/bin/env bash
# Builds this example into <OUT_DIR>/python-v2.wasm with componentize-py,
# against contract 0.2 (wit/v0.2): src/ plus the request helpers
# (guest-sdk/python/wasmpush_v2.py; src/wasmpush_v2.py links to it), by
# guest-sdk/python/build.sh, as plugins/zulip.
# Called from the repository root: bash examples/python-v2/build.sh OUT_DIR
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec bash "$HERE/../../guest-sdk/python/build.sh" "$HERE/src" python-v2 "${1:?usage: bash examples/python-v2/build.sh OUT_DIR}"
