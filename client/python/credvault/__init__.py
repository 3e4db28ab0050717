"""credvault: the Python client of the credvault daemon (standard library only).

A plugin service uses it to fetch its secrets and its users' OAuth tokens
from credvaultd over the local Unix socket, with libcredvault's semantics
(client/credvault.h)::

    import credvault

    with credvault.Client() as c:          # $CREDVAULT_SOCKET, else /run/credvault/socket
        try:
            secret = c.secret_get("todo", "client_secret")
        except credvault.Error as e:       # e.code: "not_found", "denied", "unreachable", ...
            ...
        use(secret.value)                  # bytes, exactly as stored

Values (secrets, API keys) are ``bytes``; token fields are ``str``, as
the protocol carries them (printable ASCII). Every failure raises
:class:`credvault.Error`, carrying the protocol's error ``code``. A write
is never sent twice. docs/plugins.md shows what a service writes for each
auth type; docs/protocol.md is the wire protocol.

Python cannot wipe the memory a value passed through; keep secrets in as
few objects as you can, and never log them (the result types leave them
out of ``repr()``).
"""

from .client import NAME_SIZE_MAX, SECRET_VALUE_SIZE_MAX, USER_ID_SIZE_MAX, Client, TokenResponse, Value
from .connection import PROTO_VERSION, RETRY_SAFE_OPS, SOCKET_DEFAULT, TIMEOUT_DEFAULT, socket_path_default
from .errors import (
    BAD_REQUEST,
    CONFLICT,
    CORRUPT,
    DENIED,
    ERRNO_OF_CODE,
    INTERNAL,
    NOT_FOUND,
    PROTOCOL,
    RATE_LIMITED,
    REAUTH_REQUIRED,
    REFRESH_IN_PROGRESS,
    REFRESH_REQUIRED,
    TIMEOUT,
    TOO_LARGE,
    UNAUTHORIZED,
    UNAVAILABLE,
    UNKNOWN_OP,
    UNREACHABLE,
    Error,
)
from .types import Health, Lease, Match, PluginRegistration, Secret, Token

#: The version of this client (the credvault release it comes with).
__version__ = "0.1.0"

__all__ = [
    "Client",
    "Error",
    "Health",
    "Lease",
    "Match",
    "PluginRegistration",
    "Secret",
    "Token",
    "TokenResponse",
    "Value",
    "socket_path_default",
    "SOCKET_DEFAULT",
    "TIMEOUT_DEFAULT",
    "PROTO_VERSION",
    "RETRY_SAFE_OPS",
    "NAME_SIZE_MAX",
    "USER_ID_SIZE_MAX",
    "SECRET_VALUE_SIZE_MAX",
    "ERRNO_OF_CODE",
    "BAD_REQUEST",
    "UNKNOWN_OP",
    "UNAUTHORIZED",
    "DENIED",
    "NOT_FOUND",
    "CONFLICT",
    "TOO_LARGE",
    "RATE_LIMITED",
    "UNAVAILABLE",
    "CORRUPT",
    "REFRESH_REQUIRED",
    "REAUTH_REQUIRED",
    "REFRESH_IN_PROGRESS",
    "INTERNAL",
    "UNREACHABLE",
    "TIMEOUT",
    "PROTOCOL",
]
