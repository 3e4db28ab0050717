#!/bin/sh
# scale-smoke.sh — meson test (suite bench): cv-scale runs end to end on a
# tiny vault and prints its table and its JSON line. Not a timed test:
# the figures are not checked.
#   scale-smoke.sh CV_SCALE
set -eu
command -v systemd-socket-activate >/dev/null || { echo "no systemd-socket-activate: skipped"; exit 77; }
out=$("$1" --sizes 200,500 --seconds 0.2 --activations 5)
echo "$out"
echo "$out" | grep -q '^| what | 200 | 500 |$'
echo "$out" | grep -q '^{"bench":"cv-scale",'
