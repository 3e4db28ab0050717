#!/usr/bin/env python3
"""Every ```c and ```sh block of README.md and docs/*.md, as printed.

C blocks are compiled against the libcredvault of the build tree, through
its uninstalled pkg-config file (`pkg-config --cflags --libs credvault`, so
credvault.pc's Requires.private is exercised too):
- a block with a function definition, a #define or main() is a translation
  unit on its own and must compile as it is (its own #includes); with
  main() it is linked and run against a fresh daemon holding the page's
  example plugins;
- any other block is statements: compiled in the body of a function that
  has the names the pages use in scope (`c`, `authorization`, `user`,
  `response_json`), after the block's own #include lines.

sh blocks run one by one, each under cv-harness (a fresh credvaultd,
CREDVAULT_SOCKET set), with the built `credvault` first in PATH, in a
directory whose ai-plugin.json is the example plugin the block names
(todo: service_http, weather: user_http, calendar: oauth), the variables
the pages use set ($SECRET holds '+', '/' and '='), and a `curl` that
answers as a token endpoint would. A command may end with 0 or with an
answer the pages document as such (6 no match, 7 refresh required);
anything else fails the block. A block preceded by
`<!-- not run: REASON -->` is only checked for the reason.

Python blocks: tests/python/test_docs.py.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import List, Tuple

SRC = Path(os.environ["CV_SRC_ROOT"])
BUILD = Path(os.environ["CV_BUILD_ROOT"])
HARNESS = os.environ["CV_HARNESS"]
CLI = os.environ["CREDVAULT_CLI"]
CC = os.environ.get("CC", "cc")
CFLAGS = os.environ.get("CV_SNIPPET_CFLAGS", "").split()  # the build's -fsanitize=

FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.S | re.M)
NOT_RUN = re.compile(r"<!-- not run: (.+?) -->\s*$")
# A function definition or a #define at the start of a line: a translation unit.
FUNCTION = re.compile(r"^(?:#define\s|[A-Za-z_][\w \t*]*\b\w+\([^;{]*\)\s*\{)", re.M)

# docs/operations.md is edited by the lead only (the notes files feed it):
# its blocks that cannot run are listed here, by their first line, until
# they carry the <!-- not run: --> comment themselves.
NOT_RUN_ELSEWHERE = {
    ("docs/operations.md", "build/bench/cv-rewrap --records 1000 --dir /tmp/rw1m"): "a benchmark on 1M records (minutes)",
    ("docs/operations.md", "systemctl stop credvault.service credvault.socket"): "needs systemd running and credvault installed",
}

MANIFESTS = {
    "todo": {
        "schema_version": "v1",
        "name_for_model": "todo",
        "auth": {
            "type": "service_http",
            "authorization_type": "bearer",
            "verification_tokens": {"openai": "a8b0c2d4e6f8a1b3"},
        },
        "api": {"type": "openapi", "url": "https://todo.example.com/openapi.yaml"},
    },
    "weather": {
        "schema_version": "v1",
        "name_for_model": "weather",
        "auth": {"type": "user_http", "authorization_type": "bearer"},
        "api": {"type": "openapi", "url": "https://weather.example.com/openapi.yaml"},
    },
    "calendar": {
        "schema_version": "v1",
        "name_for_model": "calendar",
        "auth": {
            "type": "oauth",
            "client_url": "https://cal.example.com/oauth/authorize",
            "authorization_url": "https://cal.example.com/oauth/token",
            "scope": "events.read events.write",
            "verification_tokens": {"openai": "e3f1a9c07b52d6e8"},
        },
        "api": {"type": "openapi", "url": "https://cal.example.com/openapi.yaml"},
    },
}

SH_ENV = {
    "SECRET": "cs+9Qm/2vLx4Tz==",  # what a naive form body would mangle
    "CLIENT_ID": "assistant-7c1f",
    "TOKEN": "st_4f9a2c7e1b",
    "T": "st_4f9a2c7e1b",
    "KEY": "wk_live_51HxQa",
    "TOKEN_ENDPOINT": "https://cal.example.com/oauth/token",
}

# Run before each sh block, in its shell: a command that fails stops the
# block, unless the comment on its line names that exit status as an
# answer ("# exit 0 match, 6 no match", "(7: refresh required)").
SH_PROLOGUE = r"""cv_status() {
        local rc=$1 line=$2 text
        text=$(sed -n "${line}p" "$0")
        case $text in *"#"*) text=" ${text#*#} " ;; *) text= ;; esac
        [[ $text =~ [^0-9]$rc[^0-9] ]] && return 0
        echo "line $((line - PROLOGUE_LINES)): exit status $rc" >&2
        exit 1
}
trap 'cv_status $? $LINENO' ERR
"""

FAKE_CURL = """#!/bin/sh
# curl, as the token endpoint of the docs' examples answers
printf '%s' '{"access_token":"at-1","token_type":"Bearer","expires_in":3600,"refresh_token":"rt-1"}'
"""

STATEMENTS_PRELUDE = """#include <credvault.h>
#include <stdlib.h>
int snippet(CvClient *c, const char *authorization, const char *user, const char *response_json);
int snippet(CvClient *c, const char *authorization, const char *user, const char *response_json) {
        (void) c;
        (void) authorization;
        (void) user;
        (void) response_json;
        {
"""

# A C program's page plugins, before it runs: as an operator would set them up.
PROGRAM_SETUP = """set -e
credvault plugin add todo.json
printf %s "$SECRET" | credvault secret put todo client_secret
"""


def blocks() -> List[Tuple[str, int, str, str, str]]:
    """(file, line, language, preceding line, text) of every fenced block."""
    out = []
    for path in [SRC / "README.md", *sorted((SRC / "docs").glob("*.md"))]:
        text = path.read_text()
        for m in FENCE.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            before = text[: m.start()].rstrip("\n").rsplit("\n", 1)[-1]
            out.append((str(path.relative_to(SRC)), line, m.group(1), before, m.group(2)))
    return out


def pkg_config() -> List[str]:
    env = dict(os.environ, PKG_CONFIG_PATH=str(BUILD / "meson-uninstalled"))
    flags = subprocess.run(
        ["pkg-config", "--cflags", "--libs", "credvault"], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    return flags + [f"-Wl,-rpath,{BUILD / 'client'}"]


def compile_c(where: str, text: str, work: Path, flags: List[str]) -> str:
    """'' when it compiled (and ran, for a program), else what went wrong."""
    includes = [l for l in text.splitlines() if l.startswith("#include")]
    body = "\n".join(l for l in text.splitlines() if not l.startswith("#include"))
    file, line = where.rsplit(":", 1)
    program = re.search(r"\bmain\s*\(", text) is not None
    if program or FUNCTION.search(body):
        source = f'#line {int(line) + 1} "{file}"\n{text}'
    else:
        source = (
            STATEMENTS_PRELUDE.replace("#include <stdlib.h>\n", "#include <stdlib.h>\n" + "\n".join(includes) + "\n")
            + f'#line {int(line) + 1 + len(includes)} "{file}"\n{body}\n'
            + "        }\n        return 0;\n}\n"
        )
    src = work / "snippet.c"
    src.write_text(source)
    cmd = [CC, *CFLAGS, "-Wall", "-Wextra", "-Werror", "-Wno-unused-function", "-Wno-unused-parameter", str(src)]
    if program:
        cmd += ["-o", str(work / "snippet"), *flags]
    else:
        cmd += ["-c", "-o", str(work / "snippet.o"), *[f for f in flags if f.startswith("-I")]]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        return f"does not compile ({' '.join(cmd)}):\n{r.stderr}"
    if not program:
        return ""
    (work / "setup.sh").write_text(PROGRAM_SETUP + f"exec {work / 'snippet'}\n")
    (work / "todo.json").write_text(json.dumps(MANIFESTS["todo"]))
    r = run_harness(["bash", str(work / "setup.sh")], work)
    if r.returncode != 0:
        return f"runs with exit status {r.returncode}:\n{r.stdout}{r.stderr}"
    if SH_ENV["SECRET"] not in r.stdout:
        return f"prints {r.stdout!r}, not the secret it was to fetch"
    return ""


def run_harness(argv: List[str], cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, **SH_ENV)
    env["PATH"] = f"{cwd / 'bin'}:{os.environ['PATH']}"
    return subprocess.run([HARNESS, *argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


def run_sh(text: str, work: Path) -> str:
    names = [n for n in MANIFESTS if re.search(rf"\b{n}\b", text)]
    prologue = SH_PROLOGUE
    if names:
        (work / "ai-plugin.json").write_text(json.dumps(MANIFESTS[names[0]]))
        if "plugin add" not in text:  # registered by an earlier block of the page
            prologue += "credvault plugin add ai-plugin.json >/dev/null\n"
    prologue = f"PROLOGUE_LINES={prologue.count(chr(10)) + 1}\n{prologue}"
    (work / "block.sh").write_text(prologue + text + "exit 0\n")
    r = run_harness(["bash", str(work / "block.sh")], work)
    if r.returncode != 0:
        return f"fails (exit status {r.returncode}):\n{r.stdout}{r.stderr}"
    return ""


def main() -> int:
    flags = pkg_config()
    failures = []
    n_c = n_sh = n_skipped = 0
    for file, line, lang, before, text in blocks():
        where = f"{file}:{line}"
        if lang not in ("c", "sh"):
            continue
        with tempfile.TemporaryDirectory(prefix="cv-snippet.") as tmp:
            work = Path(tmp)
            (work / "bin").mkdir()
            curl = work / "bin" / "curl"
            curl.write_text(FAKE_CURL)
            curl.chmod(0o755)
            (work / "bin" / "credvault").symlink_to(CLI)
            m = NOT_RUN.search(before)
            reason = m.group(1) if m else NOT_RUN_ELSEWHERE.get((file, text.split("\n", 1)[0]))
            if reason:
                n_skipped += 1
                print(f"{where}: ```{lang}: not run: {reason}")
                continue
            if lang == "c":
                n_c += 1
                err = compile_c(where, text, work, flags)
            else:
                n_sh += 1
                err = run_sh(text, work)
        print(f"{where}: ```{lang}: {'ok' if not err else 'FAIL'}")
        if err:
            failures.append(f"{where}: ```{lang} block {err}\n{text}")
    print(f"{n_c} C blocks compiled, {n_sh} sh blocks run, {n_skipped} marked not run; {len(failures)} failed")
    for f in failures:
        print("\n" + f, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
