#!/usr/bin/env bash
# run-tests.sh — the Python client's tests (test_*.py here), run under
# cv-harness (a fresh credvaultd, CREDVAULT_SOCKET in the environment) with
# python3 -m unittest. meson gives PYTHON (the python3 it found, if any),
# PYTHONPATH (client/python and this directory) and CREDVAULTD. Exit 77
# (skipped) without python3.
set -euo pipefail
py=${PYTHON:-python3}
if ! command -v "$py" >/dev/null 2>&1; then
        echo "python3 not found: the Python client's tests are skipped"
        exit 77
fi
cd "$(dirname "$0")"
exec "$py" -m unittest discover -v -s . -p 'test_*.py'
