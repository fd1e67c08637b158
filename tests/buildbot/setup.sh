#!/usr/bin/env bash
# Installs Buildbot 4.3.0 (master, worker, web UI, txrequests) into a local
# venv for the conformance tests. Idempotent: a venv that already has these
# exact versions is left alone (a marker file records what was installed).
#
#   tests/buildbot/setup.sh            # -> target/buildbot-venv
#   BUILDBOT_VENV=/some/dir tests/buildbot/setup.sh
#
# Prints the venv's python path on the last line of stdout. Needs python3
# (>= 3.9) with the venv module, and PyPI.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="${BUILDBOT_VENV:-$repo/target/buildbot-venv}"
python="${PYTHON:-python3}"
pkgs=(buildbot==4.3.0 buildbot-worker==4.3.0 buildbot-www==4.3.0 txrequests==0.9.6)
marker="$venv/.wasmpush-buildbot-${pkgs[*]// /_}"
marker="${marker// /+}"

if [[ -f "$marker" && -x "$venv/bin/buildbot" && -x "$venv/bin/buildbot-worker" ]]; then
    echo "buildbot venv up to date: $venv" >&2
    echo "$venv/bin/python"
    exit 0
fi

start=$(date +%s%N)
if ! "$python" -c 'import venv, ensurepip' 2>/dev/null; then
    echo "setup.sh: $python cannot create venvs with pip (Debian: apt-get install python3-venv)" >&2
    exit 1
fi
if [[ ! -x "$venv/bin/python" ]]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${pkgs[@]}" >&2
"$venv/bin/buildbot" --version >&2
"$venv/bin/buildbot-worker" --version >&2
rm -f "$venv"/.wasmpush-buildbot-*
touch "$marker"
end=$(date +%s%N)
echo "buildbot venv installed in $(( (end - start) / 1000000 )) ms: $venv" >&2
echo "$venv/bin/python"
