#!/usr/bin/env bash
# The main job on an embedded default: recorded Buildbot 4.3.0 events ->
# example Wasm generators -> push (with outbox) -> a receiver on 127.0.0.1.
# Installs what it needs (the wasm32-wasip2 target), builds, runs.
set -euo pipefail
cd "$(dirname "$0")/.."
WASMPUSH_ONLY_RUST=1 bash scripts/build-generators.sh 2>/dev/null
cargo build --quiet -p wasmpush
exec ./target/debug/wasmpush demo "$@"
