#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs every toolchain it needs
# (wasm32-wasip2, and the guest toolchains through each example's build.sh),
# builds every example generator from source, then runs all tests.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
# No incremental artefacts: a one-shot run never reuses them, and they were
# 2.4 GB of a 6.7 GB target/ (a CI run once failed on a full disk in clippy).
export CARGO_INCREMENTAL=0
rustup component add rustfmt clippy >/dev/null 2>&1 || true
cargo fmt --all --check   # style: rustfmt.toml (max_width 120)
# systemd-analyze checks the packaged unit (host/tests/cli.rs).
if ! command -v systemd-analyze >/dev/null; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd) >&2
fi
# Headless Chromium and its WebDriver run the status page test (host/tests/status_page.rs).
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver) >&2
fi
bash scripts/build-generators.sh
echo "generators built in $(( $(date +%s) - start ))s" >&2
cargo test --no-fail-fast
echo "tests finished in $(( $(date +%s) - start ))s" >&2
cargo clippy --workspace --all-targets -- -D warnings
echo "clippy finished in $(( $(date +%s) - start ))s" >&2
echo "target/ holds $(du -sh target | cut -f1)" >&2
