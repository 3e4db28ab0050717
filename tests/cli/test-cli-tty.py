#!/usr/bin/env python3
"""test-cli-tty.py — the credvault command at a terminal, under cv-harness.

Each command runs on a real pseudo-terminal (os.openpty, made the
controlling terminal of a new session, as a login shell's would be), driven
as a person would: wait for the prompt, type, press Enter. Checks: the
prompt is shown (on stderr), the typed value is never echoed, put and rotate
ask twice and refuse two different entries with nothing stored, --no-confirm
asks once, the Enter key is not stored, an empty entry is refused, the
terminal's echo is back on afterwards (also when Ctrl-C interrupts the
prompt: the process dies of SIGINT, the terminal echoes again); values
printed end with a newline on a terminal and not through a pipe, as
--newline says; stdin that is not a terminal stays byte for byte.
"""

import fcntl
import os
import select
import signal
import subprocess
import sys
import termios
import time

CLI = os.environ["CREDVAULT_CLI"]
os.environ["CREDVAULT_SOCKET"]  # set by cv-harness; KeyError otherwise
TIMEOUT = 10.0
n_checks = 0


def fail(what, detail=""):
    print(f"FAIL: {what}" + (f"\n{detail}" if detail else ""), file=sys.stderr)
    sys.exit(1)


def check(cond, what, detail=""):
    global n_checks
    if not cond:
        fail(what, detail)
    n_checks += 1


class Tty:
    """One CLI process on a fresh pty: stdin always the terminal; stdout
    and stderr the terminal or pipes."""

    def __init__(self, args, stdout_tty=True, stderr_tty=True):
        self.args = args
        self.master, self.slave = os.openpty()
        out_r = out_w = err_r = err_w = None
        if not stdout_tty:
            out_r, out_w = os.pipe()
        if not stderr_tty:
            err_r, err_w = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            try:
                os.setsid()
                fcntl.ioctl(self.slave, termios.TIOCSCTTY, 0)
                os.dup2(self.slave, 0)
                os.dup2(out_w if out_w is not None else self.slave, 1)
                os.dup2(err_w if err_w is not None else self.slave, 2)
                os.execv(CLI, [CLI] + args)
            finally:
                os._exit(127)
        for fd in (out_w, err_w):
            if fd is not None:
                os.close(fd)
        self.out_pipe, self.err_pipe = out_r, err_r
        self.screen = b""  # all the terminal showed
        self.ended = set()
        self.status = None

    def _read(self, timeout):
        """Read what is there within timeout; whether anything was."""
        fds = [fd for fd in (self.master, self.out_pipe, self.err_pipe) if fd is not None and fd not in self.ended]
        ready, _, _ = select.select(fds, [], [], timeout)
        got = False
        for fd in ready:
            try:
                data = os.read(fd, 4096)
            except OSError:  # EIO: the last process on the terminal is gone
                data = b""
            if not data:
                self.ended.add(fd)
            got = got or bool(data)
            if fd == self.master:
                self.screen += data
            elif fd == self.out_pipe:
                self.piped_out = getattr(self, "piped_out", b"") + data
            else:
                self.piped_err = getattr(self, "piped_err", b"") + data
        return got

    def expect(self, text, where="screen"):
        deadline = time.monotonic() + TIMEOUT
        while text not in getattr(self, where, b""):
            if time.monotonic() > deadline:
                fail(f"{self.args}: waiting for {text!r} on the {where}", f"screen: {self.screen!r}")
            self._read(0.1)

    def type(self, text):
        os.write(self.master, text)

    def wait(self):
        deadline = time.monotonic() + TIMEOUT
        while True:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                os.kill(self.pid, signal.SIGKILL)
                fail("the command did not end", f"screen: {self.screen!r}")
            self._read(0.05)
        # What is left in the terminal and the pipes.
        while self._read(0.1):
            pass
        self.status = status
        return os.waitstatus_to_exitcode(status)

    def echo_on(self):
        return bool(termios.tcgetattr(self.slave)[3] & termios.ECHO)

    def close(self):
        for fd in (self.master, self.slave, self.out_pipe, self.err_pipe):
            if fd is not None:
                os.close(fd)


def run_piped(args, stdin=b""):
    """The CLI without a terminal: stdin, stdout and stderr pipes."""
    p = subprocess.run([CLI] + args, input=stdin, capture_output=True, timeout=TIMEOUT)
    return p.returncode, p.stdout, p.stderr


def typed_put(args, entries, want_rc, prompts=("Enter the value: ", "Repeat the value: "), **kw):
    t = Tty(args, **kw)
    for prompt, entry in zip(prompts, entries):
        t.expect(prompt.encode(), "screen" if kw.get("stderr_tty", True) else "piped_err")
        t.type(entry)
    rc = t.wait()
    check(rc == want_rc, f"{' '.join(args)}: exit {rc}, expected {want_rc}", repr(t.screen))
    check(t.echo_on(), f"{' '.join(args)}: the terminal echoes again afterwards")
    t.close()
    return t


SECRET = b"hunter2-tty-canary"

# ---- secret put at a terminal: prompt, no echo, twice, no Enter stored ----
t = typed_put(["secret", "put", "tty", "pw"], [SECRET + b"\r", SECRET + b"\r"], 0)
check(SECRET not in t.screen, "put: the typed value is not echoed", repr(t.screen))
check(b"Enter the value: " in t.screen and b"Repeat the value: " in t.screen, "put: asks twice")
check(b"tty/pw version 1" in t.screen, "put: reports the version", repr(t.screen))
rc, out, _ = run_piped(["secret", "get", "tty", "pw"])
check(rc == 0 and out == SECRET, "put: the value stored without the Enter key", repr(out))

# Two different entries: refused, nothing stored.
t = typed_put(["secret", "put", "tty", "pw"], [b"first-entry\r", b"second-entry\r"], 2)
check(b"differ" in t.screen and b"nothing stored" in t.screen, "mismatch: says so", repr(t.screen))
check(b"first-entry" not in t.screen and b"second-entry" not in t.screen, "mismatch: no entry echoed")
rc, out, _ = run_piped(["secret", "get", "tty", "pw"])
check(out == SECRET, "mismatch: the stored value unchanged", repr(out))
t = typed_put(["secret", "put", "tty", "new"], [b"a\r", b"b\r"], 2)
rc, _, _ = run_piped(["secret", "get", "tty", "new"])
check(rc == 3, f"mismatch: no secret created (get: exit {rc})")

# --no-confirm: once.
t = typed_put(["secret", "put", "tty", "once", "--no-confirm"], [b"typed-once\r"], 0)
check(b"Repeat" not in t.screen, "--no-confirm: asks once", repr(t.screen))
check(b"typed-once" not in t.screen, "--no-confirm: not echoed")
rc, out, _ = run_piped(["secret", "get", "tty", "once"])
check(out == b"typed-once", "--no-confirm: stored", repr(out))

# Nothing typed, or Ctrl-D on an empty line: refused.
t = typed_put(["secret", "put", "tty", "empty"], [b"\r"], 2)
check(b"empty" in t.screen and b"nothing stored" in t.screen, "empty entry: says so", repr(t.screen))
t = typed_put(["secret", "put", "tty", "empty"], [b"\x04"], 2)
check(b"nothing typed" in t.screen, "Ctrl-D: says so", repr(t.screen))
rc, _, _ = run_piped(["secret", "get", "tty", "empty"])
check(rc == 3, "empty entry: nothing stored")

# The line can be edited (canonical mode): a backspace removes a byte.
t = typed_put(["secret", "put", "tty", "edit", "--no-confirm"], [b"abX\x7fc\r"], 0)
rc, out, _ = run_piped(["secret", "get", "tty", "edit"])
check(out == b"abc", "backspace edits the line", repr(out))

# The prompt goes to stderr: with stderr a pipe, the terminal shows none.
t = typed_put(["secret", "put", "tty", "pw2", "--no-confirm"], [b"v2\r"], 0, stderr_tty=False)
check(b"Enter the value" not in t.screen, "prompt: not on stdout", repr(t.screen))
check(b"Enter the value" in getattr(t, "piped_err", b""), "prompt: on stderr")

# ---- Ctrl-C at the prompt: dies of SIGINT, echo back on ----
t = Tty(["secret", "put", "tty", "intr"])
t.expect(b"Enter the value: ")
check(not t.echo_on(), "while prompting, the echo is off")
t.type(b"half")
t.type(b"\x03")
t.wait()
check(os.WIFSIGNALED(t.status) and os.WTERMSIG(t.status) == signal.SIGINT, "Ctrl-C: ends by SIGINT")
check(t.echo_on(), "Ctrl-C: the terminal echoes again")
t.close()
rc, _, _ = run_piped(["secret", "get", "tty", "intr"])
check(rc == 3, "Ctrl-C: nothing stored")

# SIGTERM from outside, the same.
t = Tty(["secret", "put", "tty", "term"])
t.expect(b"Enter the value: ")
os.kill(t.pid, signal.SIGTERM)
t.wait()
check(os.WIFSIGNALED(t.status) and os.WTERMSIG(t.status) == signal.SIGTERM, "SIGTERM: ends by SIGTERM")
check(t.echo_on(), "SIGTERM: the terminal echoes again")
t.close()

# ---- rotate, apikey put, verify and lookup at a terminal ----
t = typed_put(["secret", "rotate", "tty", "pw"], [b"rotated\r", b"rotated\r"], 0)
check(b"rotated" not in t.screen, "rotate: not echoed")
rc, out, _ = run_piped(["secret", "get", "tty", "pw", "--stage", "pending"])
check(out == b"rotated", "rotate: staged without the Enter key", repr(out))
typed_put(["secret", "rotate", "tty", "pw"], [b"x\r", b"y\r"], 2)

t = typed_put(["secret", "verify", "tty", "pw", "--raw"], [SECRET + b"\r"], 0, prompts=("Enter the value: ",))
check(b"Repeat" not in t.screen and b"match version 1" in t.screen, "verify --raw: once, matches", repr(t.screen))
t = typed_put(
    ["secret", "verify", "tty", "pw"],
    [b"Bearer " + SECRET + b"\r"],
    0,
    prompts=("Enter the Authorization header: ",),
)
check(SECRET not in t.screen, "verify: the header not echoed")
typed_put(["secret", "verify", "tty", "pw", "--raw"], [b"wrong\r"], 6, prompts=("Enter the value: ",))

manifest = b'{"type":"user_http","authorization_type":"bearer"}'
rc, _, err = run_piped(["plugin", "add", "-", "--name", "ttyuser"], manifest)
check(rc == 0, "plugin add for apikey", repr(err))
t = typed_put(["apikey", "put", "ttyuser", "alice"], [b"ak-typed\r", b"ak-typed\r"], 0, prompts=("Enter the key: ", "Repeat the key: "))
check(b"ak-typed" not in t.screen, "apikey put: not echoed")
t = typed_put(["apikey", "lookup", "ttyuser"], [b"ak-typed\r"], 0, prompts=("Enter the key: ",), stdout_tty=False)
check(getattr(t, "piped_out", b"") == b"alice\n", "apikey lookup: the key typed without Enter", repr(t.__dict__.get("piped_out")))

# token put at a terminal: a JSON document, typed with echo, ended by
# Ctrl-D; the command says so instead of waiting silently.
t = Tty(["token", "put", "tty", "bob"])
t.expect(b"end it with Ctrl-D")
t.type(b'{"access_token":"at-typed","token_type":"Bearer"}\r')
t.type(b"\x04")
rc = t.wait()
t.close()
check(rc == 0, f"token put at a terminal: exit {rc}", repr(t.screen))

# ---- not a terminal: byte for byte, as ever ----
rc, _, _ = run_piped(["secret", "put", "tty", "pipe"], b"with-newline\n")
rc, out, _ = run_piped(["secret", "get", "tty", "pipe"])
check(out == b"with-newline\n", "piped put: the newline kept", repr(out))
rc, _, _ = run_piped(["secret", "put", "tty", "pipe-empty"], b"")
check(rc == 0, "piped put: an empty value is stored")

# ---- --newline: get on a terminal ends with one, through a pipe not ----
def get_on_tty(args):
    t = Tty(args)
    rc = t.wait()
    t.close()
    return rc, t.screen


rc, screen = get_on_tty(["secret", "get", "tty", "pw"])
check(rc == 0 and screen == SECRET + b"\r\n", "get on a terminal: a newline after the value", repr(screen))
rc, screen = get_on_tty(["secret", "get", "tty", "pw", "--newline=never"])
check(screen == SECRET, "get --newline=never on a terminal", repr(screen))
rc, out, _ = run_piped(["secret", "get", "tty", "pw"])
check(out == SECRET, "get through a pipe: no newline", repr(out))
rc, out, _ = run_piped(["secret", "get", "tty", "pw", "--newline=always"])
check(out == SECRET + b"\n", "get --newline=always through a pipe", repr(out))
rc, out, _ = run_piped(["secret", "get", "tty", "pw", "--newline", "auto"])
check(out == SECRET, "get --newline auto through a pipe", repr(out))
rc, out, err = run_piped(["secret", "get", "tty", "pw", "--newline=sometimes"])
check(rc == 2 and b"auto, always or never" in err, "--newline=sometimes refused", repr(err))
rc, out, _ = run_piped(["secret", "generate", "tty", "gen"])
check(rc == 0 and out.endswith(b"\n") and out.count(b"\n") == 1, "generate: a newline by default", repr(out))
rc, out, _ = run_piped(["secret", "generate", "tty", "gen", "--newline=never"])
check(rc == 0 and not out.endswith(b"\n"), "generate --newline=never", repr(out))
rc, out, _ = run_piped(["secret", "generate", "tty", "gen", "--newline=auto"])
check(rc == 0 and not out.endswith(b"\n"), "generate --newline=auto through a pipe", repr(out))
rc, out, _ = run_piped(["secret", "rotate", "tty", "gen", "--generate", "--newline=never"])
check(rc == 0 and out and not out.endswith(b"\n"), "rotate --generate --newline=never", repr(out))
rc, out, err = run_piped(["secret", "ls", "--newline=never"])
check(rc == 2 and b"not an option of 'secret ls'" in err, "--newline on a command without a value", repr(err))

print(f"ok: {n_checks} checks")
