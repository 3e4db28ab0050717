"""credvault.errors: the one exception the client raises, and its codes.

Every failure is a :class:`Error` whose ``code`` is either one of the
protocol's error codes (docs/protocol.md, "Error codes"), sent by the
daemon, or one of the transport words libcredvault uses for failures found
on this side: ``unreachable``, ``timeout``, ``protocol``. Programs decide
on the code only; the message is for people and never holds a secret.
"""

from __future__ import annotations

import errno as _errno
from typing import Optional

# The protocol's codes (proto/errors.c), as the daemon sends them.
BAD_REQUEST = "bad_request"
UNKNOWN_OP = "unknown_op"
UNAUTHORIZED = "unauthorized"
DENIED = "denied"
NOT_FOUND = "not_found"
CONFLICT = "conflict"
TOO_LARGE = "too_large"
RATE_LIMITED = "rate_limited"
UNAVAILABLE = "unavailable"
CORRUPT = "corrupt"
REFRESH_REQUIRED = "refresh_required"
REAUTH_REQUIRED = "reauth_required"
REFRESH_IN_PROGRESS = "refresh_in_progress"
INTERNAL = "internal"

# Failures found by the client itself, as libcredvault names them.
UNREACHABLE = "unreachable"  # no daemon at the socket, or the connection was lost
TIMEOUT = "timeout"  # no answer within the client's timeout
PROTOCOL = "protocol"  # an answer that is not valid protocol

#: The errno libcredvault returns for each code (client/credvault.h), for
#: programs that share error handling with C code.
ERRNO_OF_CODE = {
    BAD_REQUEST: _errno.EINVAL,
    UNKNOWN_OP: _errno.EOPNOTSUPP,
    UNAUTHORIZED: _errno.EACCES,
    DENIED: _errno.EPERM,
    NOT_FOUND: _errno.ENOENT,
    CONFLICT: _errno.EEXIST,
    TOO_LARGE: _errno.EMSGSIZE,
    RATE_LIMITED: _errno.EBUSY,
    UNAVAILABLE: _errno.ESHUTDOWN,
    CORRUPT: _errno.EUCLEAN,
    REFRESH_REQUIRED: _errno.ESTALE,
    REAUTH_REQUIRED: _errno.EKEYREVOKED,
    REFRESH_IN_PROGRESS: _errno.EALREADY,
    INTERNAL: _errno.EIO,
    TIMEOUT: _errno.ETIMEDOUT,
    PROTOCOL: _errno.EPROTO,
}


class Error(Exception):
    """A call to credvaultd failed.

    Attributes:
        code: the protocol's error code (``not_found``, ``denied``,
            ``refresh_required``, ...; a code this version does not know is
            kept as sent) or a transport word (``unreachable``, ``timeout``,
            ``protocol``).
        message: what went wrong, for people; never contains a secret.
        retry_after_ms: with ``refresh_in_progress`` and ``rate_limited``:
            how long to wait before asking again, in ms; else None.
        expires_at: with ``refresh_required``: when the stored token set
            expires or expired, Unix seconds; else None.
        errno: the errno libcredvault would return for this failure
            (``errno.ENOENT`` for ``not_found``, the system's errno for a
            failed connect, ``errno.EPROTO`` for an unknown code).
    """

    code: str
    message: str
    retry_after_ms: Optional[int]
    expires_at: Optional[int]
    errno: int

    def __init__(
        self,
        code: str,
        message: str,
        retry_after_ms: Optional[int] = None,
        expires_at: Optional[int] = None,
        errno: Optional[int] = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.retry_after_ms = retry_after_ms
        self.expires_at = expires_at
        self.errno = errno if errno is not None else ERRNO_OF_CODE.get(code, _errno.EPROTO)

    def __repr__(self) -> str:
        extra = ""
        if self.retry_after_ms is not None:
            extra += f", retry_after_ms={self.retry_after_ms}"
        if self.expires_at is not None:
            extra += f", expires_at={self.expires_at}"
        return f"credvault.Error({self.code!r}, {self.message!r}{extra})"
