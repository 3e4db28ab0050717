"""credvault.types: what the calls of :class:`credvault.Client` return.

Values that are secret (a secret's value, access and refresh tokens) are
left out of ``repr()``, so logging a result does not log the secret.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Optional


@dataclass(frozen=True)
class Secret:
    """A secret's value and its record: ``secret_get``, ``secret_generate``.

    ``value`` is bytes, exactly as stored (any bytes, 0 to 32768 of them);
    a generated value is ASCII text (unpadded base64url), still as bytes.
    ``created`` and ``updated`` are Unix seconds. ``stage`` is "current"
    unless another stage was asked for; ``deadline`` (a previous version:
    Unix seconds it is accepted until) and ``grace`` (a pending one) come
    only with those stages.
    """

    value: bytes = field(repr=False)
    version: int
    created: int
    updated: int
    stage: str = "current"
    deadline: Optional[int] = None
    grace: Optional[int] = None


@dataclass(frozen=True)
class Match:
    """The answer of ``secret_verify``: true when the credential matched.

    ``version`` and ``stage`` ("current", or "previous" while a rotated
    secret is in its grace) say which version matched; None on no match.
    """

    match: bool
    version: Optional[int] = None
    stage: Optional[str] = None

    def __bool__(self) -> bool:
        return self.match


@dataclass(frozen=True)
class Token:
    """A user's OAuth token set, as the vault stores it: ``token_get``.

    The token fields are ``str``: the protocol carries them as JSON text
    (printable ASCII, RFC 6749), unlike secret values, which are bytes.
    ``expires_at`` is Unix seconds, or None for a set without an expiry.
    ``fields`` is the whole stored set (``id_token`` and provider extras
    included). ``version``, ``created``, ``updated`` describe the record.
    """

    access_token: str = field(repr=False)
    token_type: str
    refresh_token: Optional[str] = field(repr=False)
    scope: Optional[str]
    expires_at: Optional[int]
    version: int
    created: int
    updated: int
    fields: Dict[str, Any] = field(repr=False, default_factory=dict)


@dataclass(frozen=True)
class Lease:
    """A refresh lease from ``token_refresh_begin``: the caller refreshes.

    Call the provider with ``refresh_token`` and report with
    ``token_refresh_commit`` or ``token_refresh_fail`` before
    ``lease_until_ms`` (Unix milliseconds); ``version`` is the version of
    the set the lease was taken on.
    """

    lease: str
    lease_until_ms: int
    refresh_token: str = field(repr=False)
    version: int


@dataclass(frozen=True)
class PluginRegistration:
    """The reply of ``plugin_register``: the name used and the record."""

    plugin: str
    domain: Optional[str]
    auth_type: str
    version: int
    created: int
    updated: int


@dataclass(frozen=True)
class Health:
    """The daemon's state: ``health``. ``raw`` is the whole reply (with
    ``policy`` and ``audit``, and what later daemons add)."""

    version: str
    uptime: int
    connections: int
    kek_primary: int
    keks: int
    secrets: int
    tokens: int
    raw: Dict[str, Any] = field(repr=False, default_factory=dict)
