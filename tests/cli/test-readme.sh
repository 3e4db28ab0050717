#!/usr/bin/env bash
# test-readme.sh — the README's CLI block ("## The CLI"), run line by line
# as printed, under cv-harness (a fresh credvaultd).
#
# The block's free variables and files are given: ai-plugin.json (a
# service_http manifest of "todo"), $SECRET, $T (the service token that
# the block's own `secret generate` line printed), and curl, a function
# that prints a token endpoint's answer (no network in tests). Every line
# must end with status 0 (secret verify: 0, a match, since $T is the
# token); the last column's comments are part of the lines, as a reader
# would paste them.
set -euo pipefail

CLI=${CREDVAULT_CLI:?CREDVAULT_CLI is not set (run through meson test)}
: "${CREDVAULT_SOCKET:?CREDVAULT_SOCKET is not set (run under cv-harness)}"
README=${README:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/README.md}

T_DIR=$(mktemp -d "${TMPDIR:-/tmp}/test-readme.XXXXXX")
trap 'rm -rf "$T_DIR"' EXIT
mkdir "$T_DIR/bin"
ln -s "$CLI" "$T_DIR/bin/credvault"
export PATH="$T_DIR/bin:$PATH"
cd "$T_DIR"

cat >ai-plugin.json <<'JSON'
{"schema_version":"v1","name_for_model":"todo","auth":{"type":"service_http","authorization_type":"bearer","verification_tokens":{"openai":"a8b0c2d4e6f8a1b3"}},"api":{"type":"openapi","url":"https://todo.example.com/openapi.yaml"}}
JSON
export SECRET='s3cr3t+/=value' TOKEN_ENDPOINT=https://auth.example.com/token T=

# The block: from the line after "## The CLI"'s ```sh to the closing ```.
mapfile -t lines < <(awk '/^## The CLI/ { s = 1 } s && /^```sh/ { b = 1; next } b && /^```/ { exit } b' "$README")
((${#lines[@]} >= 5)) || { echo "FAIL: no CLI block in $README" >&2; exit 1; }

n=0
for line in "${lines[@]}"; do
        rc=0
        out=$(bash -c 'curl() { printf "%s" "{\"access_token\":\"at-1\",\"token_type\":\"Bearer\",\"expires_in\":3600}"; }
                       '"$line" 2>"$T_DIR/err") || rc=$?
        if ((rc != 0)); then
                echo "FAIL: README line exits $rc: $line" >&2
                cat "$T_DIR/err" >&2
                exit 1
        fi
        # The service token the generate line printed is the one verify checks.
        [[ $line == *"secret generate todo service_token"* ]] && T=$out && export T
        n=$((n + 1))
done
[[ -n $T ]] || { echo "FAIL: the README's block generates no service token" >&2; exit 1; }
[[ $(credvault secret get todo client_secret) == "$SECRET" ]] || { echo "FAIL: the stored secret differs" >&2; exit 1; }
echo "ok: $n README lines"
