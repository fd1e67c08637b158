#!/usr/bin/env bash
# Builds {{name}} into <OUT_DIR>/{{name}}.wasm (default OUT_DIR: this folder).
#
#   WASMPUSH_WIT=/path/to/wasmpush/wit bash build.sh [OUT_DIR]
#
# componentize-py: $COMPONENTIZE_PY if set, else `componentize-py` on PATH,
# else installed (pinned) into .toolchain/venv here with pip.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NAME="{{name}}"
OUT_DIR="${1:-$HERE}"
WIT="${WASMPUSH_WIT:-$HERE/wit}"
[ -d "$WIT" ] || { echo "error: WIT folder '$WIT' not found: set WASMPUSH_WIT to wasmpush's wit/ folder" >&2; exit 2; }
mkdir -p "$OUT_DIR"

CPY="${COMPONENTIZE_PY:-$(command -v componentize-py || true)}"
if [ -z "$CPY" ]; then
    CPY="$HERE/.toolchain/venv/bin/componentize-py"
    if [ ! -x "$CPY" ]; then
        echo "installing componentize-py 0.25.1 into $HERE/.toolchain/venv" >&2
        python3 -m venv "$HERE/.toolchain/venv"
        "$HERE/.toolchain/venv/bin/pip" install --quiet --disable-pip-version-check componentize-py==0.25.1 >&2
    fi
fi
# componentize-py bundles every file under -p (keep only the app in src/), and
# CPython writes __pycache__ there while componentizing: build from a copy.
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
cp -R "$HERE/src" "$TMP/src"
"$CPY" -d "$WIT" -w generator componentize app -p "$TMP/src" -o "$TMP/$NAME.wasm" >/dev/null
mv -f "$TMP/$NAME.wasm" "$OUT_DIR/$NAME.wasm"
echo "built $OUT_DIR/$NAME.wasm" >&2
