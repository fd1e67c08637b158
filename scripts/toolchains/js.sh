#!/usr/bin/env bash
# Installs a JavaScript -> component toolchain into an npm prefix folder and
# prints the path of that folder.
#
#   bash scripts/toolchains/js.sh [qjs]        (default)
#       componentize-qjs 0.4.5 into target/toolchains/npm-qjs: QuickJS engine,
#       prebuilt native N-API binding, ~10 MB, a few seconds. This is what
#       `jco componentize --backend qjs` runs under the hood.
#   bash scripts/toolchains/js.sh starlingmonkey
#       @bytecodealliance/jco 1.35.0 + componentize-js 0.23.0 +
#       preview2-shim 0.26.1 (top level, or an older shim gets hoisted) into
#       target/toolchains/npm-sm: StarlingMonkey (SpiderMonkey) engine, ~380 MB.
#
# Usage: NPM_PREFIX=$(bash scripts/toolchains/js.sh)
#        node scripts/toolchains/componentize-js.mjs ...   (see there)
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

BACKEND="${1:-qjs}"
case "$BACKEND" in
    qjs|quickjs)
        BACKEND=qjs
        PACKAGES=("componentize-qjs@0.4.5")
        ;;
    sm|starlingmonkey)
        BACKEND=sm
        PACKAGES=(
            "@bytecodealliance/jco@1.35.0"
            "@bytecodealliance/componentize-js@0.23.0"
            "@bytecodealliance/preview2-shim@0.26.1"
        )
        ;;
    *) tc_die "unknown JS backend '$BACKEND' (qjs or starlingmonkey)" ;;
esac
DIR="$WASMPUSH_TOOLCHAINS/npm-$BACKEND"
WANT="${PACKAGES[*]}"

tc_lock "js-$BACKEND"
command -v node >/dev/null || tc_die "node not found (Node.js >= 20 needed; apt-get install nodejs)"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) < 20 ? 1 : 0)' \
    || tc_die "Node.js >= 20 needed, found $(node --version)"
if ! tc_stamp_ok "$DIR" "$WANT"; then
    started=$SECONDS
    tc_log "npm install ${PACKAGES[*]} into $DIR"
    rm -rf "$DIR"
    mkdir -p "$DIR"
    printf '{ "name": "wasmpush-js-toolchain", "private": true }\n' > "$DIR/package.json"
    npm install --prefix "$DIR" --save-exact --no-audit --no-fund --loglevel=error "${PACKAGES[@]}" >&2
    tc_stamp "$DIR" "$WANT"
    tc_log "npm packages installed in $((SECONDS - started)) s"
fi
echo "$DIR"
