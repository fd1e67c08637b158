# Shared helpers for the guest toolchain installers in this folder.
#
# Sourced (not executed) by the installers. Every installer puts its tools
# under $WASMPUSH_TOOLCHAINS (default: <repo>/target/toolchains), is safe to
# run concurrently (one flock per tool) and returns in well under a second
# when the pinned version is already there (a stamp file records it).
# Progress goes to stderr; stdout is reserved for the installer's answer.

set -euo pipefail

WASMPUSH_ROOT="${WASMPUSH_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
WASMPUSH_TOOLCHAINS="${WASMPUSH_TOOLCHAINS:-$WASMPUSH_ROOT/target/toolchains}"
mkdir -p "$WASMPUSH_TOOLCHAINS"
WASMPUSH_TOOLCHAINS="$(cd "$WASMPUSH_TOOLCHAINS" && pwd)"

# tc_log MESSAGE...: progress line on stderr.
tc_log() { printf '[toolchains] %s\n' "$*" >&2; }

# tc_die MESSAGE...: error on stderr, exit 1.
tc_die() { printf '[toolchains] error: %s\n' "$*" >&2; exit 1; }

# tc_lock NAME: hold an exclusive lock for the rest of the calling script, so
# two builds started together do not install the same tool twice.
tc_lock() {
    local lock="$WASMPUSH_TOOLCHAINS/.$1.lock"
    exec {TC_LOCK_FD}>"$lock"
    flock "$TC_LOCK_FD"
}

# tc_stamp_ok DIR WANT: true when DIR/.stamp holds exactly WANT.
tc_stamp_ok() { [ -f "$1/.stamp" ] && [ "$(cat "$1/.stamp")" = "$2" ]; }

# tc_stamp DIR WANT: record a finished install.
tc_stamp() { printf '%s' "$2" > "$1/.stamp"; }

# tc_python: a python3 (>= 3.10) to create venvs with.
tc_python() {
    local py
    for py in "${WASMPUSH_PYTHON:-}" python3 python3.13 python3.12 python3.11 python3.10; do
        [ -n "$py" ] || continue
        if command -v "$py" >/dev/null 2>&1 \
            && "$py" -c 'import sys, venv; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
            command -v "$py"
            return 0
        fi
    done
    tc_die "no python3 >= 3.10 with the venv module found (apt-get install python3-venv)"
}

# tc_pip_venv DIR STAMP REQUIREMENT...: create/refresh a venv at DIR with the
# pinned requirements, unless DIR's stamp already says STAMP.
tc_pip_venv() {
    local dir="$1" want="$2"
    shift 2
    if tc_stamp_ok "$dir" "$want"; then return 0; fi
    local started=$SECONDS
    tc_log "installing $* into $dir"
    rm -rf "$dir"
    "$(tc_python)" -m venv "$dir"
    "$dir/bin/python" -m pip install --quiet --disable-pip-version-check --no-input "$@" >&2
    tc_stamp "$dir" "$want"
    tc_log "installed $* in $((SECONDS - started)) s"
}
