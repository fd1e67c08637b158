#!/usr/bin/env bash
# Builds every example generator from source into target/generators/<name>.wasm
# and every reporter of the catalog (plugins/<name>/) into
# target/catalog/<name>.wasm with its manifest as target/catalog/<name>.toml.
# Rust folders are workspace members built for wasm32-wasip2 with the
# workspace's `guest` profile (small; `release` is the host's); any other
# folder has its own build.sh, called as `build.sh <out-dir>`.
#
# The host refuses a catalog file whose sha256 differs from plugins/catalog.lock;
# after changing a plugin, `scripts/build-generators.sh --lock` rewrites the lock.
set -euo pipefail
cd "$(dirname "$0")/.."

rustup target list --installed | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2

# (source folder, output folder) pairs.
groups=("examples:target/generators" "plugins:target/catalog")

rust=()
for g in "${groups[@]}"; do
  for dir in "${g%%:*}"/*/; do
    [ -f "$dir/Cargo.toml" ] && rust+=("-p" "$(basename "$dir")")
  done
done
if [ ${#rust[@]} -gt 0 ]; then
  cargo build --quiet --profile guest --target wasm32-wasip2 "${rust[@]}"
fi

for g in "${groups[@]}"; do
  src=${g%%:*} out=${g##*:}
  mkdir -p "$out"
  for dir in "$src"/*/; do
    name=$(basename "$dir")
    if [ -f "$dir/Cargo.toml" ]; then
      cp "target/wasm32-wasip2/guest/${name//-/_}.wasm" "$out/$name.wasm"
    elif [ -f "$dir/build.sh" ]; then
      [ -z "${WASMPUSH_ONLY_RUST:-}" ] || continue
      echo "building $name" >&2
      bash "$dir/build.sh" "$out"
      [ -f "$out/$name.wasm" ] || { echo "error: $dir/build.sh did not produce $out/$name.wasm" >&2; exit 1; }
    else
      continue
    fi
    if [ -f "$dir/plugin.toml" ]; then cp "$dir/plugin.toml" "$out/$name.toml"; fi
  done
done

if [ "${1:-}" = "--lock" ]; then
  {
    echo "# sha256 of every catalog plugin as scripts/build-generators.sh builds it."
    echo "# The host embeds this file and refuses a catalog file with another digest."
    echo "# Rewrite it with: bash scripts/build-generators.sh --lock"
    for dir in plugins/*/; do
      name=$(basename "$dir")
      [ -f "target/catalog/$name.wasm" ] || continue
      echo "$name = \"$(sha256sum "target/catalog/$name.wasm" | cut -d' ' -f1)\""
    done
  } > plugins/catalog.lock
  echo "wrote plugins/catalog.lock" >&2
fi
ls -l target/generators target/catalog >&2
