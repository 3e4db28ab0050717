#!/usr/bin/env bash
# check-layers.sh — the layering of docs/design.md holds in the source and
# in what the built programs link.
#
#   check-layers.sh SOURCE_ROOT BUILD_ROOT
#
# Fails when a handler reaches past the vault (a store or keyring call or
# include in daemon/ops), when the store's code names libsodium, when the
# crypto layer names SQLite, when the CLI includes proto/, or when a test
# built from the store layer alone links libsodium (or one built from the
# crypto layer links SQLite). Skips (77) where ldd is missing.
set -uo pipefail
src=$1 build=$2
command -v ldd >/dev/null || { echo "ldd missing"; exit 77; }
fail=0

check_none() { # WHAT PATTERN PATH...
        local what=$1 pattern=$2
        shift 2
        local hits
        hits=$(grep -rnE --include="*.c" --include="*.h" "$pattern" "$@" 2>/dev/null)
        if [ -n "$hits" ]; then
                echo "FAIL: $what:"
                echo "$hits"
                fail=1
        else
                echo "ok: $what"
        fi
}

cd "$src"
check_none "handlers call only the vault" '\b(store|keyring|envelope)_[a-z_]+\(' daemon/ops
check_none "handlers include no store, keyring or envelope header" \
        '#include "(store|store-internal|keyring|envelope|rootkey)\.h"' daemon/ops
check_none "the store never names libsodium" 'sodium' daemon/store
check_none "crypto never names SQLite or the store" 'sqlite|store_|"store\.h"' daemon/crypto
check_none "the policy never names SQLite, libsodium or the vault" 'sqlite|sodium|vault_|store_' daemon/policy
check_none "the CLI is built on the public API and common/ only" \
        '#include "(request|frame|json-flat|json-out|errors|manifest|proto-limits|client-internal)\.h"' client/cli

links() { # BINARY LIBRARY
        ldd "$1" 2>/dev/null | grep -q "$2"
}
for t in "$build"/tests/unit/test-store "$build"/tests/unit/test-store-*; do
        [ -x "$t" ] || continue
        if links "$t" libsodium; then
                echo "FAIL: $(basename "$t") (store layer only) links libsodium"
                fail=1
        fi
done
for t in keyring envelope rootkey; do
        b=$build/tests/unit/test-$t
        [ -x "$b" ] || { echo "FAIL: $b not built"; fail=1; continue; }
        if links "$b" libsqlite3; then
                echo "FAIL: test-$t (crypto layer only) links SQLite"
                fail=1
        fi
done
[ -x "$build/tests/unit/test-store" ] && echo "ok: store-only and crypto-only tests link what their layer allows"
exit $fail
