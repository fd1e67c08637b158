#!/usr/bin/env bash
# Builds {{name}} into <OUT_DIR>/{{name}}.wasm (default OUT_DIR: this folder).
#
#   WASMPUSH_WIT=/path/to/wasmpush/wit bash build.sh [OUT_DIR]
#
# componentize-qjs (the QuickJS engine behind `jco componentize --backend qjs`):
# $COMPONENTIZE_QJS if set, else `componentize-qjs` on PATH, else installed
# (pinned) into .toolchain/npm here with npm. Needs Node.js >= 20.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NAME="{{name}}"
OUT_DIR="${1:-$HERE}"
WIT="${WASMPUSH_WIT:-$HERE/wit}"
[ -d "$WIT" ] || { echo "error: WIT folder '$WIT' not found: set WASMPUSH_WIT to wasmpush's wit/ folder" >&2; exit 2; }
mkdir -p "$OUT_DIR"

QJS="${COMPONENTIZE_QJS:-$(command -v componentize-qjs || true)}"
if [ -z "$QJS" ]; then
    QJS="$HERE/.toolchain/npm/node_modules/.bin/componentize-qjs"
    if [ ! -x "$QJS" ]; then
        echo "installing componentize-qjs 0.4.5 into $HERE/.toolchain/npm" >&2
        mkdir -p "$HERE/.toolchain/npm"
        npm install --prefix "$HERE/.toolchain/npm" --save-exact --no-audit --no-fund --loglevel=error \
            componentize-qjs@0.4.5 >&2
    fi
fi
# --sync: the non-async runtime (wasmpush's wasmtime does not enable
# component-model async).
"$QJS" --wit "$WIT" --world generator --js "$HERE/src/app.js" --sync -o "$OUT_DIR/$NAME.wasm.tmp" >/dev/null
mv -f "$OUT_DIR/$NAME.wasm.tmp" "$OUT_DIR/$NAME.wasm"
echo "built $OUT_DIR/$NAME.wasm" >&2
