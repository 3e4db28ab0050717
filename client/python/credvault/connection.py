"""credvault.connection: one connection to credvaultd and the call path.

Framing (docs/protocol.md, "Framing"): a 4-byte big-endian length, then
that many bytes of one JSON object; 1 to 65536 bytes each way. One request
is in flight at a time; the reply must carry its id.

The retry rule is libcredvault's (client/client.c, client_exchange()):

* a connection the daemon closed while it sat idle (seen by a peek after
  a second without use) is replaced before sending: nothing was sent on it;
* if the connection breaks after sending, the request is sent again on a
  new connection only when the daemon cannot have carried it out (the send
  failed with EPIPE, or the connection was reset with our request unread:
  ECONNRESET), or when it changes nothing (the ops the protocol's op table
  marks OP_RETRY_SAFE). An end of stream after the whole request was sent
  is ambiguous: a write may have been carried out, and is never repeated;
  it raises ``Error("unreachable")`` instead;
* a request sent on a connection made for it is never sent twice.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import struct
import time
from typing import Any, Dict, Optional, Tuple

from .errors import PROTOCOL, TIMEOUT, UNREACHABLE, Error

#: Where the daemon listens unless $CREDVAULT_SOCKET or the caller says.
SOCKET_DEFAULT = "/run/credvault/socket"
#: Seconds a connect and each call may take, unless the caller says.
TIMEOUT_DEFAULT = 5.0
#: The protocol version this client speaks.
PROTO_VERSION = 1
#: Largest frame body, each way (FRAME_BODY_MAX).
FRAME_BODY_MAX = 65536

# Ops that change nothing (OP_RETRY_SAFE in proto/request-table.c's op table):
# the only ones sent again after an ambiguous break. The tests check this
# set against the op table.
RETRY_SAFE_OPS = frozenset(
    {
        "health",
        "whoami",
        "secret.get",
        "secret.list",
        "secret.verify",
        "secret.history",
        "token.get",
        "token.list",
        "plugin.list",
        "plugin.get",
        "manifest.auth",
        "oauth.verify_client",
        "apikey.lookup",
        "apikey.list",
        "audit.list",
        "audit.verify",
        "key.status",
        "token.revocation_list",
    }
)

# After this long unused, peek whether the daemon closed the connection
# before sending on it (IDLE_CHECK_AFTER_MS).
_IDLE_CHECK_AFTER = 1.0


class _Broken(Exception):
    """The connection broke: how, as the retry rule needs it."""

    def __init__(self, how: int, detail: str) -> None:
        super().__init__(detail)
        self.how = how  # errno.EPIPE, errno.ECONNRESET, or _EOF
        self.detail = detail


_EOF = -1  # the daemon closed its end: the request may have been carried out


def socket_path_default() -> str:
    """The socket a client uses when given none: $CREDVAULT_SOCKET if set
    and not empty, else ``/run/credvault/socket``."""
    return os.environ.get("CREDVAULT_SOCKET") or SOCKET_DEFAULT


def _no_duplicates(pairs: Any) -> Dict[str, Any]:
    obj: Dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise ValueError("duplicate key")
        obj[key] = value
    return obj


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


class Connection:
    """A connection to credvaultd that sends one request at a time.

    Not for direct use: :class:`credvault.Client` wraps it.
    """

    def __init__(self, socket_path: Optional[str], timeout: float) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be > 0 seconds")
        self.socket_path = socket_path or socket_path_default()
        self.timeout = timeout
        self._sock: Optional[socket.socket] = None
        self._last_used = 0.0
        self._next_id = 1
        self.connect()

    # ---- the socket ----

    def connect(self) -> None:
        """Connect (again); raises Error("unreachable") when nobody answers."""
        self.close()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.socket_path)
        except (socket.timeout, BlockingIOError):
            sock.close()
            raise Error(
                UNREACHABLE,
                f"cannot connect to credvaultd at {self.socket_path}: backlog full for the timeout",
                errno=errno.ETIMEDOUT,
            ) from None
        except OSError as e:
            sock.close()
            code = e.errno if e.errno is not None else errno.ENAMETOOLONG
            reason = e.strerror or str(e)
            raise Error(
                UNREACHABLE, f"cannot connect to credvaultd at {self.socket_path}: {reason}", errno=code
            ) from None
        self._sock = sock
        self._last_used = time.monotonic()

    def close(self) -> None:
        """Close the connection; the next call connects again."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    @property
    def connected(self) -> bool:
        """Whether a connection is open now."""
        return self._sock is not None

    def set_timeout(self, timeout: float) -> None:
        """Change the per-call timeout, in seconds (> 0)."""
        if timeout <= 0:
            raise ValueError("timeout must be > 0 seconds")
        self.timeout = timeout
        if self._sock is not None:
            self._sock.settimeout(timeout)

    def _peek(self) -> Optional[bytes]:
        """What is waiting to be read, without waiting: None if nothing,
        b"" at end of stream. (With a timeout set, Python's recv waits for
        readability first, whatever the flags: so drop it meanwhile.)"""
        assert self._sock is not None
        self._sock.setblocking(False)
        try:
            return self._sock.recv(1, socket.MSG_PEEK)
        except (BlockingIOError, InterruptedError):
            return None
        finally:
            self._sock.settimeout(self.timeout)

    def _closed_while_idle(self) -> bool:
        if time.monotonic() - self._last_used < _IDLE_CHECK_AFTER:
            return False
        try:
            return self._peek() == b""
        except OSError:
            return True

    # ---- one exchange ----

    def _recv_exact(self, n: int) -> bytes:
        assert self._sock is not None
        chunks = []
        while n > 0:
            try:
                chunk = self._sock.recv(min(n, FRAME_BODY_MAX))
            except ConnectionResetError:
                raise _Broken(errno.ECONNRESET, "connection reset") from None
            if not chunk:
                raise _Broken(_EOF, "the daemon closed the connection")
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def _exchange_once(self, frame: bytes) -> bytes:
        assert self._sock is not None
        sent: Optional[_Broken] = None
        try:
            self._sock.sendall(frame, socket.MSG_NOSIGNAL)
        except BrokenPipeError:
            sent = _Broken(errno.EPIPE, "broken pipe")
        except ConnectionResetError:
            sent = _Broken(errno.ECONNRESET, "connection reset")
        # Even when the daemon closed before reading our request, it may
        # have said why first (over a connection cap): read what it left.
        try:
            header = self._recv_exact(4)
        except _Broken as e:
            raise (sent or e) from None
        (length,) = struct.unpack(">I", header)
        if length == 0 or length > FRAME_BODY_MAX:
            raise Error(PROTOCOL, "credvaultd sent an invalid reply: frame length out of range")
        body = self._recv_exact(length)
        # One request in flight, so nothing may follow the reply.
        try:
            extra = self._peek()
        except OSError:
            extra = None  # broken after the reply: the next call sees to it
        if extra:
            raise Error(PROTOCOL, "credvaultd sent an invalid reply: bytes after the reply")
        return body

    def exchange(self, frame: bytes, retry_safe: bool) -> bytes:
        """Send a framed request and return the reply's body, under the
        retry rule (module docstring). Raises Error on transport failure."""
        try:
            fresh = False
            if self._sock is not None and self._closed_while_idle():
                self.close()
            if self._sock is None:
                self.connect()
                fresh = True
            try:
                body = self._exchange_once(frame)
            except _Broken as e:
                # EPIPE / ECONNRESET: our request went unread, any request
                # may go again; EOF after sending: only one that changes
                # nothing.
                if fresh or not (e.how in (errno.EPIPE, errno.ECONNRESET) or retry_safe):
                    raise
                self.connect()
                body = self._exchange_once(frame)
        except _Broken as e:
            self.close()
            raise Error(
                UNREACHABLE,
                f"connection to credvaultd lost: {e.detail}",
                errno=errno.ECONNRESET if e.how == _EOF else e.how,
            ) from None
        except socket.timeout:
            self.close()
            raise Error(TIMEOUT, "no answer from credvaultd in time") from None
        except Error:
            self.close()
            raise
        except OSError as e:
            self.close()
            raise Error(UNREACHABLE, f"connection to credvaultd lost: {e.strerror or e}", errno=e.errno) from None
        self._last_used = time.monotonic()
        return body

    # ---- requests and replies ----

    def call(self, op: str, fields: Dict[str, Any]) -> Tuple[Dict[str, Any], int]:
        """Send {"v", "id", "op", **fields} and return (reply object, id).

        The reply is checked to be one JSON object answering this request
        ("id" ours, or null on an error reply; "ok" a boolean). Error
        replies are returned as they came: see :func:`raise_for_error`.
        """
        request_id = self._next_id
        self._next_id += 1
        request: Dict[str, Any] = {"v": PROTO_VERSION, "id": request_id, "op": op}
        for key, value in fields.items():
            if key not in ("v", "id", "op"):
                request[key] = value
        try:
            body = json.dumps(request, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")
        except (UnicodeEncodeError, ValueError, TypeError) as e:
            raise Error("bad_request", f"the request cannot be sent as JSON: {e}") from None
        if len(body) > FRAME_BODY_MAX:
            raise Error("too_large", "request does not fit in a frame")
        reply_body = self.exchange(struct.pack(">I", len(body)) + body, op in RETRY_SAFE_OPS)
        try:
            reply = json.loads(
                reply_body.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_no_constant
            )
        except (UnicodeDecodeError, ValueError):
            self.close()
            raise Error(PROTOCOL, "credvaultd sent an invalid reply: not one JSON object in UTF-8") from None
        ok = reply.get("ok") if isinstance(reply, dict) else None
        rid = reply.get("id") if isinstance(reply, dict) else None
        ours = isinstance(rid, int) and not isinstance(rid, bool) and rid == request_id
        if not isinstance(ok, bool) or not (ours or (rid is None and ok is False)):
            self.close()
            raise Error(PROTOCOL, "credvaultd sent an invalid reply: not an answer to this request")
        return reply, request_id

    def raise_for_error(self, reply: Dict[str, Any]) -> None:
        """Raise the Error an error reply carries; return on success."""
        if reply["ok"]:
            return
        error = reply.get("error")
        code = error.get("code") if isinstance(error, dict) else None
        message = error.get("message") if isinstance(error, dict) else None
        extras = {}
        for key in ("retry_after_ms", "expires_at"):
            value = error.get(key) if isinstance(error, dict) else None
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
                code = None
            extras[key] = value
        if not isinstance(code, str) or not isinstance(message, str):
            self.close()
            raise Error(PROTOCOL, "credvaultd sent an invalid reply: an error without a code and a message")
        # "id": null: the daemon could not read our frame, and may have
        # closed the connection.
        if reply.get("id") is None:
            self.close()
        raise Error(code, message, retry_after_ms=extras["retry_after_ms"], expires_at=extras["expires_at"])
