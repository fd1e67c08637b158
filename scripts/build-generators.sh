#!/usr/bin/env bash
# Builds every example generator from source into target/generators/<name>.wasm.
# Rust examples are workspace members built for wasm32-wasip2 with the
# workspace's `guest` profile (small; `release` is the host's); any other
# example folder has its own build.sh, called as `build.sh <out-dir>`.
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/generators
mkdir -p "$out"

rustup target list --installed | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2

rust=()
for dir in examples/*/; do
  name=$(basename "$dir")
  [ -f "$dir/Cargo.toml" ] && rust+=("-p" "$name")
done
if [ ${#rust[@]} -gt 0 ]; then
  cargo build --quiet --profile guest --target wasm32-wasip2 "${rust[@]}"
  for dir in examples/*/; do
    name=$(basename "$dir")
    [ -f "$dir/Cargo.toml" ] || continue
    cp "target/wasm32-wasip2/guest/${name//-/_}.wasm" "$out/$name.wasm"
  done
fi

for dir in examples/*/; do
  name=$(basename "$dir")
  [ -f "$dir/build.sh" ] || continue
  [ -z "${WASMPUSH_ONLY_RUST:-}" ] || continue
  echo "building $name" >&2
  bash "$dir/build.sh" "$out"
  [ -f "$out/$name.wasm" ] || { echo "error: $dir/build.sh did not produce $out/$name.wasm" >&2; exit 1; }
done
ls -l "$out" >&2
