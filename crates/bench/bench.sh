#!/usr/bin/env bash
# Runs every wasmpush benchmark behind docs/PERFORMANCE.md, in one go, and
# collects the tables in target/bench-results/.
#
#   bash crates/bench/bench.sh            # the workspace's bench settings (= dev profile)
#   bash crates/bench/bench.sh --opt      # an optimised host build (opt-level 3, no debug assertions)
#   bash crates/bench/bench.sh --quick    # shorter e2e (smaller counts), same tables
#
# Needs the example generators (bash scripts/build-generators.sh) and, for
# the Buildbot peer, PyPI access the first time (tests/buildbot/setup.sh).
# Takes about 10-15 minutes on 2 cores, plus the build (about 10 minutes
# the first time with --opt: wasmtime and cranelift at opt-level 3 into
# target/bench-opt; the dev build is shared with the tests).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

profile=(--profile dev)
dir=debug
quick=()
for a in "$@"; do
    case "$a" in
        --opt)
            # A custom profile (config only, Cargo.toml untouched): release
            # settings for the host, minus LTO and size optimisation (those
            # are for the guests).
            profile=(--profile bench-opt
                --config 'profile.bench-opt.inherits="release"'
                --config 'profile.bench-opt.opt-level=3'
                --config 'profile.bench-opt.lto=false'
                --config 'profile.bench-opt.codegen-units=16'
                --config 'profile.bench-opt.debug=false'
                --config 'profile.bench-opt.strip=false'
                --config 'profile.bench-opt.incremental=false')
            dir=bench-opt
            ;;
        --quick) quick=(--events 5000 --peer-events 1000 --warm-runs 3 --load 500) ;;
        *) echo "unknown option $a (--opt, --quick)" >&2; exit 2 ;;
    esac
done

cargo build -p wasmpush-bench --bins "${profile[@]}"
# Every benchmark below runs the product (wasmpush::runtime, dispatch,
# service): there is no copy of the sandbox or the dispatcher to drift.
out="$CARGO_TARGET_DIR/bench-results/$dir"
mkdir -p "$out"
bin="$CARGO_TARGET_DIR/$dir"

cargo bench -p wasmpush-bench --bench generators "${profile[@]}" | tee "$out/generators.log"
cp "$CARGO_TARGET_DIR/bench-results/generators.md" "$out/"
cargo bench -p wasmpush-bench --bench growth "${profile[@]}" | tee "$out/growth.log"
cp "$CARGO_TARGET_DIR/bench-results/growth.md" "$out/"
"$bin/phases" --calls 300 | tee "$out/phases.md"
"$bin/phases" --calls 300 --trimmed --variants host | tee "$out/phases-trimmed.md"
"$bin/genload" --threads 1,2 --seconds 3 | tee "$out/genload.md"
"$bin/e2e" --generators chat-message,buildbot-json "${quick[@]}" | tee "$out/e2e.md"
echo "tables in $out"
