#!/usr/bin/env bash
# check-format.sh — every C file of the tree is formatted by .clang-format.
# Skips (77) where clang-format or git is missing.
set -euo pipefail
cd "$1"
command -v clang-format >/dev/null && command -v git >/dev/null || { echo "clang-format or git missing"; exit 77; }
git rev-parse --is-inside-work-tree >/dev/null 2>&1 || { echo "not a git checkout"; exit 77; }
mapfile -t files < <(git ls-files '*.c' '*.h')
clang-format --dry-run -Werror "${files[@]}"
echo "${#files[@]} files formatted"
