"""cvtest: what the Python client's tests share.

The tests run under cv-harness (tests/python/meson.build), which starts a
fresh credvaultd and sets CREDVAULT_SOCKET; tests that stop and restart a
daemon start their own with :class:`Daemon`, the way tests/harness/harness.c
does (a temporary directory with the state dir, socket and root key; ready
when the daemon says READY=1 on a private NOTIFY_SOCKET). :class:`Proxy`
sits between a client and a daemon and breaks connections on purpose.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import List, Optional

SRC_ROOT = Path(__file__).resolve().parents[2]


def time_scale() -> int:
    """CV_TEST_TIME_SCALE (1 to 100): how much slower the daemon runs here."""
    try:
        return min(max(int(os.environ.get("CV_TEST_TIME_SCALE", "1")), 1), 100)
    except ValueError:
        return 1


def daemon_path() -> str:
    path = os.environ.get("CREDVAULTD")
    if not path:
        raise RuntimeError("CREDVAULTD is not set (run through meson test)")
    return path


class Daemon:
    """A credvaultd of the test's own, on a temporary state dir and socket."""

    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="credvault-pytest.", dir=os.environ.get("TMPDIR") or "/tmp")
        self.socket_path = os.path.join(self.dir, "socket")
        self.state_dir = os.path.join(self.dir, "state")
        self.key_file = os.path.join(self.dir, "root.key")
        self.log_file = os.path.join(self.dir, "credvaultd.log")
        fd = os.open(self.key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(os.urandom(32))
        self.proc: Optional[subprocess.Popen] = None
        self.start()

    def start(self) -> None:
        notify_path = os.path.join(self.dir, "notify")
        if os.path.exists(notify_path):
            os.unlink(notify_path)
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(notify_path)
        wrapper = os.environ.get("CREDVAULTD_WRAPPER", "").split()
        argv = wrapper + [
            daemon_path(),
            "--state-dir",
            self.state_dir,
            "--root-key-file",
            self.key_file,
            "--socket",
            self.socket_path,
        ]
        env = dict(os.environ, NOTIFY_SOCKET=notify_path)
        for name in ("LISTEN_FDS", "LISTEN_PID", "JOURNAL_STREAM"):
            env.pop(name, None)
        with open(self.log_file, "ab") as log:
            self.proc = subprocess.Popen(argv, env=env, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 10 * time_scale()
        try:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"credvaultd exited with {self.proc.returncode}: {self.log()}")
                ready, _, _ = select.select([notify], [], [], 0.1)
                if ready and b"READY=1" in notify.recv(4096):
                    return
            self.kill()
            raise RuntimeError(f"credvaultd not ready in time: {self.log()}")
        finally:
            notify.close()

    def log(self) -> str:
        with open(self.log_file, errors="replace") as f:
            return f.read()[-2000:]

    def stop(self) -> int:
        """SIGTERM and wait; the exit status."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        status = self.proc.wait(timeout=20 * time_scale())
        self.proc = None
        return status

    def kill(self) -> None:
        """SIGKILL and wait: a crash."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def cleanup(self) -> None:
        if self.proc is not None:
            status = self.stop()
            if status != 0:
                raise RuntimeError(f"credvaultd exited with {status} on SIGTERM: {self.log()}")
        shutil.rmtree(self.dir, ignore_errors=True)


def read_frame(sock: socket.socket) -> Optional[bytes]:
    """One whole frame (header and body), or None at end of stream."""
    data = b""
    want = 4
    while len(data) < want:
        chunk = sock.recv(want - len(data))
        if not chunk:
            return None
        data += chunk
        if len(data) == 4 and want == 4:
            want = 4 + struct.unpack(">I", data)[0]
    return data


class Proxy(threading.Thread):
    """Passes frames between a client and the daemon at `upstream`, one
    client connection at a time, and breaks connections when told:

    * ``drop_replies``: for the next N requests, pass the request on, let
      the daemon carry it out, then close the client's connection without
      the reply: an end of stream after the whole request was sent (a
      write may have been carried out);
    * ``resets``: for the next N requests, close the client's connection
      with the request unread (the client sees ECONNRESET: nothing was
      carried out).

    ``ops`` lists the ops the daemon got through the proxy, in order.
    """

    def __init__(self, upstream: str, path: str) -> None:
        super().__init__(daemon=True)
        self.upstream = upstream
        self.path = path
        self.drop_replies = 0
        self.resets = 0
        self.ops: List[str] = []
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(path)
        self.listener.listen(8)
        self.start()

    def run(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with conn:
                try:
                    self._serve(conn)
                except OSError:
                    pass

    def _serve(self, conn: socket.socket) -> None:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as up:
            up.connect(self.upstream)
            while True:
                select.select([conn], [], [])  # a request, or the end, is there
                if self.resets > 0:
                    self.resets -= 1
                    return  # closed with the request unread
                frame = read_frame(conn)
                if frame is None:
                    return
                self.ops.append(json.loads(frame[4:])["op"])
                up.sendall(frame)
                reply = read_frame(up)
                if reply is None:
                    return
                if self.drop_replies > 0:
                    self.drop_replies -= 1
                    return  # carried out, the reply never sent
                conn.sendall(reply)

    def close(self) -> None:
        self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        self.join(5)


class SilentServer(threading.Thread):
    """A socket that accepts connections and answers each request with
    `reply` (raw frame bytes), or never answers when it is None."""

    def __init__(self, path: str, reply: Optional[bytes] = None) -> None:
        super().__init__(daemon=True)
        self.reply = reply
        self.conns: List[socket.socket] = []
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(path)
        self.listener.listen(8)
        self.start()

    def run(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.conns.append(conn)
            if self.reply is not None and read_frame(conn) is not None:
                conn.sendall(self.reply)

    def close(self) -> None:
        self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        for conn in self.conns:
            conn.close()
        self.join(5)
