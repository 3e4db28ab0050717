#!/usr/bin/env bash
# setup.sh — install oidc-provider for the refresher's tests, once.
#
#   setup.sh CACHE_DIR
#
# npm installs oidc-provider (and nothing else) into CACHE_DIR (under the
# build directory: never committed, reused by later runs). Tests running
# at once wait for each other on a lock. Exits 0 when it is there, else
# non-zero with the reason on stderr (the test then skips, 77).
set -uo pipefail
dir=$1
mkdir -p "$dir" || exit 1
exec 9>"$dir/.lock"
flock 9
[ -f "$dir/node_modules/oidc-provider/lib/index.js" ] && exit 0
command -v node >/dev/null || { echo "node not found" >&2; exit 1; }
command -v npm >/dev/null || { echo "npm not found" >&2; exit 1; }
[ -f "$dir/package.json" ] || echo '{"name":"credvault-oauth-tests","private":true}' >"$dir/package.json"
if ! out=$(cd "$dir" && timeout 300 npm install --no-audit --no-fund --loglevel=error oidc-provider@9 2>&1); then
        echo "npm install oidc-provider failed: $(printf '%s' "$out" | tail -3)" >&2
        exit 1
fi
[ -f "$dir/node_modules/oidc-provider/lib/index.js" ] || { echo "oidc-provider not where expected" >&2; exit 1; }
