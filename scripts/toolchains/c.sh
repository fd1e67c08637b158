#!/usr/bin/env bash
# Installs everything a C generator build needs and prints shell assignments
# for it (eval them):
#   CLANG=...  WASI_SYSROOT=...  WIT_BINDGEN=...  WASM_TOOLS=...  WASI_ADAPTER=...
#
# - clang-19, lld-19, wasi-libc, libclang-rt-19-dev-wasm32 from Debian apt
#   (`apt-get update` only when one of them is missing; sudo when not root);
# - `wit-bindgen` 0.61.1 (C generator only) via `cargo install --locked`
#   into target/toolchains/cargo (the one slow step, once per machine/clone);
# - wasm-tools (see wasm-tools.sh);
# - the WASI preview1 -> preview2 *reactor* adapter from the crates.io crate
#   wasi-preview1-component-adapter-provider (fetched with cargo, copied to
#   target/toolchains/wasi-adapter/).
#
# Usage: eval "$(bash scripts/toolchains/c.sh)"
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

APT_PACKAGES=(clang-19 lld-19 wasi-libc libclang-rt-19-dev-wasm32)
WIT_BINDGEN_VERSION="0.61.1"
# The adapter matches the host's wasmtime (48.0.8): same WASI 0.2 release.
ADAPTER_VERSION="48.0.8"

install_apt() {
    local missing=() p
    for p in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    local started=$SECONDS
    tc_log "apt-get install ${missing[*]}"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
    tc_log "apt packages installed in $((SECONDS - started)) s"
}

# Sets WIT_BINDGEN: a `wit-bindgen` of the pinned version already on PATH
# (e.g. pre-installed on a CI image: saves the ~5 minute compile), else the
# stamped install under target/toolchains/cargo, installed if missing.
install_wit_bindgen() {
    local root="$WASMPUSH_TOOLCHAINS/cargo"
    local want="wit-bindgen-cli@$WIT_BINDGEN_VERSION features=c"
    local onpath
    onpath="$(command -v wit-bindgen || true)"
    if [ -n "$onpath" ] && [ "$("$onpath" --version 2>/dev/null)" = "wit-bindgen-cli $WIT_BINDGEN_VERSION" ]; then
        WIT_BINDGEN="$onpath"
        return 0
    fi
    WIT_BINDGEN="$root/bin/wit-bindgen"
    if tc_stamp_ok "$root" "$want" && [ -x "$root/bin/wit-bindgen" ]; then return 0; fi
    command -v cargo >/dev/null || tc_die "cargo not found: needed to install wit-bindgen-cli"
    local started=$SECONDS
    tc_log "cargo install wit-bindgen-cli@$WIT_BINDGEN_VERSION (C generator only; a few minutes, once)"
    mkdir -p "$root"
    # Its own target dir: never waits on the workspace's cargo lock.
    CARGO_TARGET_DIR="$WASMPUSH_TOOLCHAINS/cargo-build" cargo install --quiet --locked \
        --root "$root" --no-default-features --features c \
        "wit-bindgen-cli@$WIT_BINDGEN_VERSION" >&2
    rm -rf "$WASMPUSH_TOOLCHAINS/cargo-build"
    tc_stamp "$root" "$want"
    tc_log "wit-bindgen installed in $((SECONDS - started)) s"
}

install_adapter() {
    local dir="$WASMPUSH_TOOLCHAINS/wasi-adapter"
    local want="wasi-preview1-component-adapter-provider@$ADAPTER_VERSION"
    if tc_stamp_ok "$dir" "$want" && [ -f "$dir/wasi_snapshot_preview1.reactor.wasm" ]; then return 0; fi
    command -v cargo >/dev/null || tc_die "cargo not found: needed to fetch $want"
    tc_log "fetching $want from crates.io"
    local tmp="$WASMPUSH_TOOLCHAINS/adapter-fetch"
    rm -rf "$tmp" && mkdir -p "$tmp/src"
    cat > "$tmp/Cargo.toml" <<TOML
[package]
name = "wasmpush-adapter-fetch"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
wasi-preview1-component-adapter-provider = "=$ADAPTER_VERSION"

[workspace]
TOML
    : > "$tmp/src/lib.rs"
    # cargo metadata tells where the fetched crate's source lies.
    local manifest
    manifest="$(cd "$tmp" && cargo metadata --format-version 1 --quiet \
        | "$(tc_python)" -c 'import json,sys
m = json.load(sys.stdin)
print(next(p["manifest_path"] for p in m["packages"] if p["name"] == "wasi-preview1-component-adapter-provider"))')"
    local src
    src="$(dirname "$manifest")/artefacts/wasi_snapshot_preview1.reactor.wasm"
    [ -f "$src" ] || tc_die "adapter not found at $src"
    mkdir -p "$dir"
    cp "$src" "$dir/"
    rm -rf "$tmp"
    tc_stamp "$dir" "$want"
}

tc_lock c
install_apt
install_adapter
install_wit_bindgen
WASM_TOOLS="$(bash "$(dirname "${BASH_SOURCE[0]}")/wasm-tools.sh")"

command -v clang-19 >/dev/null || tc_die "clang-19 missing after install"
[ -f /usr/lib/wasm32-wasi/libc.a ] || tc_die "wasi-libc sysroot missing (/usr/lib/wasm32-wasi/libc.a)"
printf 'CLANG=%q\n' "$(command -v clang-19)"
printf 'WASI_SYSROOT=%q\n' "/usr"
printf 'WIT_BINDGEN=%q\n' "$WIT_BINDGEN"
printf 'WASM_TOOLS=%q\n' "$WASM_TOOLS"
printf 'WASI_ADAPTER=%q\n' "$WASMPUSH_TOOLCHAINS/wasi-adapter/wasi_snapshot_preview1.reactor.wasm"
