#!/usr/bin/env bash
# Installs componentize-py (pinned) into a venv under
# target/toolchains/componentize-py and prints the path of its executable.
#
# Usage: COMPONENTIZE_PY=$(bash scripts/toolchains/python.sh)
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

VERSION="0.25.1"
DIR="$WASMPUSH_TOOLCHAINS/componentize-py"

tc_lock python
tc_pip_venv "$DIR" "componentize-py==$VERSION" "componentize-py==$VERSION"
[ -x "$DIR/bin/componentize-py" ] || tc_die "componentize-py $VERSION installed but $DIR/bin/componentize-py is missing"
echo "$DIR/bin/componentize-py"
