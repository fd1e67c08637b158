#!/usr/bin/env bash
# Builds {{name}} into OUT_DIR/{{name}}.wasm (default: this folder).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$(mkdir -p "${1:-$here}" && cd "${1:-$here}" && pwd)
wit=${WASMPUSH_WIT:-$here/wit}
if [ "$wit" != "$here/wit" ]; then mkdir -p "$here/wit" && cp "$wit"/*.wit "$here/wit/"; fi
rustup target list --installed | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2
cargo build --quiet --release --target wasm32-wasip2 --manifest-path "$here/Cargo.toml"
target=${CARGO_TARGET_DIR:-$here/target}
cp "$target/wasm32-wasip2/release/$(echo '{{name}}' | tr - _).wasm" "$out/{{name}}.wasm"
echo "built $out/{{name}}.wasm" >&2
