#!/usr/bin/env bash
# test-install.sh — the Python client as `meson install` lays it out: the
# package alone (install tag python-runtime) into a temporary destdir, then
# `python3 -c 'import credvault; ...'` from there against the daemon
# cv-harness started. meson gives MESON, BUILD_DIR, PYTHON and
# PYTHON_SITE (the install dir of the package, under the prefix).
set -euo pipefail
: "${CREDVAULT_SOCKET:?CREDVAULT_SOCKET is not set (run under cv-harness)}"
dest=$(mktemp -d "${TMPDIR:-/tmp}/credvault-pyinst.XXXXXX")
trap 'rm -rf "$dest"' EXIT
"$MESON" install -C "$BUILD_DIR" --no-rebuild --quiet --destdir "$dest" --tags python-runtime >/dev/null
site=$dest$PYTHON_SITE
for f in __init__.py client.py connection.py errors.py types.py py.typed; do
        [[ -f $site/credvault/$f ]] || { echo "FAIL: $site/credvault/$f not installed" >&2; exit 1; }
done
cd "$dest"
env -u PYTHONPATH PYTHONPATH="$site" PYTHONDONTWRITEBYTECODE=1 "$PYTHON" -c '
import os, sys, credvault
assert credvault.__file__.startswith(sys.argv[1]), credvault.__file__
with credvault.Client() as c:
    assert c.socket_path == os.environ["CREDVAULT_SOCKET"]
    v = c.secret_put("py-install", "s", b"\x00\xff installed")
    assert c.secret_get("py-install", "s").value == b"\x00\xff installed"
    print("installed credvault", credvault.__version__, "from", os.path.dirname(credvault.__file__), "talks to credvaultd", c.health().version)
' "$site"
