#!/usr/bin/env bash
# demo.sh — install what is missing, build, start credvaultd on an embedded
# default (a development root key and state directory in .demo/, a socket
# there too) and show a plugin storing and fetching its secrets through the
# client library and the CLI. Stops the daemon at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
credvault_install_deps

# Quiet when all is well; a failed build prints its errors (ninja writes
# them to stdout) and stops here.
if [ ! -f build/build.ninja ]; then
        log=$(mktemp)
        meson setup build >"$log" 2>&1 || { cat "$log"; rm -f "$log"; exit 1; }
        rm -f "$log"
fi
out=$(ninja -C build --quiet 2>&1) || { printf '%s\n' "$out"; echo "demo.sh: the build failed (above)" >&2; exit 1; }
[ -z "$out" ] || [ "$out" = "ninja: no work to do." ] || printf '%s\n' "$out"

demo=$PWD/.demo
mkdir -p "$demo"
export CREDVAULT_SOCKET=$demo/socket
cli=build/client/cli/credvault

build/daemon/credvaultd --dev --state-dir "$demo/state" --socket "$CREDVAULT_SOCKET" 2>"$demo/credvaultd.log" &
daemon=$!
trap 'kill $daemon 2>/dev/null; wait $daemon 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -S "$CREDVAULT_SOCKET" ] && break; sleep 0.05; done

if [ -t 1 ]; then
        step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
else
        step() { printf '\n$ %s\n' "$*"; }
fi

step "credvault status"
$cli status

cat > "$demo/ai-plugin.json" <<'JSON'
{"schema_version":"v1","name_for_model":"todo","name_for_human":"TODO List",
 "auth":{"type":"oauth","client_url":"https://todo.example.com/authorize","scope":"tasks",
         "authorization_url":"https://todo.example.com/token","authorization_content_type":"application/json",
         "verification_tokens":{"openai":"c4b1e8a4f7d94c3e8e2b7e6c1d0a9f00"}},
 "api":{"type":"openapi","url":"https://todo.example.com/openapi.yaml"}}
JSON
step "credvault plugin add ai-plugin.json"
$cli plugin add "$demo/ai-plugin.json"

step "printf %s 'sk-todo-0123' | credvault secret put todo client_secret"
printf %s 'sk-todo-0123' | $cli secret put todo client_secret

step "credvault secret get todo client_secret"
$cli secret get todo client_secret; echo

step "echo '{\"access_token\":\"ya29.demo\",\"token_type\":\"Bearer\",\"refresh_token\":\"1//r\",\"expires_in\":3600}' | credvault token put todo user-42"
echo '{"access_token":"ya29.demo","token_type":"Bearer","refresh_token":"1//r","expires_in":3600}' | $cli token put todo user-42

step "build/examples/plugin-demo todo user-42   # a plugin service using libcredvault"
build/examples/plugin-demo todo user-42

step "credvault secret generate svc service_token   # printed once"
token=$($cli secret generate svc service_token)
echo "$token"
step "printf 'Bearer %s' \"\$token\" | credvault secret verify svc service_token"
printf 'Bearer %s' "$token" | $cli secret verify svc service_token
step "printf 'Bearer wrong' | credvault secret verify svc service_token; echo \"exit \$?\""
printf 'Bearer wrong' | $cli secret verify svc service_token || echo "exit $?"

step "credvault plugin show todo  # never a value"
$cli plugin show todo

step "credvault secret ls        # metadata only, never values"
$cli secret ls
step "credvault token ls todo"
$cli token ls todo

printf '\nThe daemon log (one audit line per request, no values) is in %s\n' "$demo/credvaultd.log"
printf 'The vault is kept in %s between runs (rm -rf %s to start over).\n' "$demo/state" "$demo"
