"""credvault.client: the calls a plugin service makes, as libcredvault has them.

Each method checks its arguments with the daemon's own rules (names,
user ids, value sizes) before anything is sent, sends one request and
checks the reply's members; any failure raises :class:`credvault.Error`.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
from types import TracebackType
from typing import Any, Dict, Mapping, Optional, Type, Union

from .connection import TIMEOUT_DEFAULT, Connection
from .errors import BAD_REQUEST, PROTOCOL, TOO_LARGE, Error
from .types import Health, Lease, Match, PluginRegistration, Secret, Token

#: Limits the daemon enforces (proto/proto-limits.h, client/credvault.h).
NAME_SIZE_MAX = 128
USER_ID_SIZE_MAX = 256
SECRET_VALUE_SIZE_MAX = 32768

_NAME_RE = re.compile(r"[A-Za-z0-9_.:@-]{1,128}\Z")
_LEASE_RE = re.compile(r"[0-9a-f]{32}\Z")

#: What a value may be given as: bytes-like, or str (sent as its UTF-8).
Value = Union[bytes, bytearray, memoryview, str]
#: A token endpoint's JSON response: a mapping, or its JSON text.
TokenResponse = Union[Mapping[str, Any], str, bytes]


def _check_name(field: str, value: str) -> None:
    if not isinstance(value, str) or not _NAME_RE.match(value):
        raise Error(BAD_REQUEST, f"{field}: 1 to 128 characters of A-Z a-z 0-9 _ . : @ -")


def _check_user(user: str) -> None:
    ok = isinstance(user, str) and 0 < len(user.encode("utf-8", "surrogatepass")) <= USER_ID_SIZE_MAX
    if ok:
        ok = not any(ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in user)
    if not ok:
        raise Error(BAD_REQUEST, "user: 1 to 256 bytes without control characters")


def _value_bytes(value: Value) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise TypeError("a value must be bytes or str")


def _b64(value: Value) -> str:
    data = _value_bytes(value)
    if len(data) > SECRET_VALUE_SIZE_MAX:
        raise Error(TOO_LARGE, "value over 32768 bytes")
    return base64.b64encode(data).decode("ascii")


def _json_object(what: str, value: Union[Mapping[str, Any], str, bytes]) -> Dict[str, Any]:
    if isinstance(value, (str, bytes)):
        try:
            value = json.loads(value)
        except ValueError:
            value = None
    if not isinstance(value, Mapping):
        raise Error(BAD_REQUEST, f"{what}: not a JSON object")
    return dict(value)


def _member(reply: Mapping[str, Any], key: str, kind: Union[type, tuple], nullable: bool = False) -> Any:
    """A reply member, type-checked: a reply that lacks it or has one of
    another type is a protocol error, never a silent default."""
    value = reply.get(key)
    if value is None and nullable and key in reply:
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise Error(PROTOCOL, f"credvaultd sent an invalid reply: member '{key}' missing or of another type")
    return value


def _token_from(reply: Mapping[str, Any]) -> Token:
    token = _member(reply, "token", dict)
    try:
        access = token["access_token"]
        token_type = token["token_type"]
        refresh = token.get("refresh_token")
        scope = token.get("scope")
        expires_at = token.get("expires_at")
        if not (isinstance(access, str) and isinstance(token_type, str)):
            raise TypeError
        if not (refresh is None or isinstance(refresh, str)) or not (scope is None or isinstance(scope, str)):
            raise TypeError
        if expires_at is not None and (not isinstance(expires_at, int) or isinstance(expires_at, bool)):
            raise TypeError
    except (KeyError, TypeError):
        raise Error(PROTOCOL, "credvaultd sent an invalid reply: a token set without its fields") from None
    return Token(
        access_token=access,
        token_type=token_type,
        refresh_token=refresh,
        scope=scope,
        expires_at=expires_at,
        version=_member(reply, "version", int),
        created=_member(reply, "created", int),
        updated=_member(reply, "updated", int),
        fields=token,
    )


class Client:
    """A client of credvaultd: ``with credvault.Client() as c: ...``.

    Connects at once to ``socket_path``; None means ``$CREDVAULT_SOCKET``,
    else ``/run/credvault/socket``. ``timeout`` (seconds) bounds the
    connect and each call afterwards. A connection the daemon closed is
    replaced by itself; a request is sent again only when that cannot
    repeat a write (see credvault.connection). Calls are serialized by a
    lock, so threads may share a client, one call at a time; a client per
    thread runs them side by side.

    Raises :class:`credvault.Error` (code ``unreachable``) when no daemon
    answers at that path.
    """

    def __init__(self, socket_path: Optional[str] = None, timeout: float = TIMEOUT_DEFAULT) -> None:
        self._lock = threading.Lock()
        self._conn = Connection(socket_path, timeout)

    # ---- the client itself ----

    @property
    def socket_path(self) -> str:
        """The socket this client connects to."""
        return self._conn.socket_path

    @property
    def timeout(self) -> float:
        """The per-call timeout, in seconds."""
        return self._conn.timeout

    def set_timeout(self, timeout: float) -> None:
        """Change the per-call timeout, in seconds (> 0)."""
        with self._lock:
            self._conn.set_timeout(timeout)

    def close(self) -> None:
        """Close the connection. A later call connects again."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()

    def _call(self, op: str, **fields: Any) -> Dict[str, Any]:
        with self._lock:
            reply, _ = self._conn.call(op, {k: v for k, v in fields.items() if v is not None})
            self._conn.raise_for_error(reply)
        return reply

    def call_raw(self, request: Mapping[str, Any]) -> Dict[str, Any]:
        """Send one request object (without "v" and "id": the client adds
        them) and return the daemon's whole reply, error replies included.
        For tools that speak the protocol themselves (docs/protocol.md).
        It is sent again after a broken connection only if its op changes
        nothing."""
        op = request.get("op")
        if not isinstance(op, str):
            raise Error(BAD_REQUEST, "request: 'op' must be a string")
        with self._lock:
            reply, _ = self._conn.call(op, dict(request))
        return reply

    # ---- health ----

    def health(self) -> Health:
        """The daemon's state (open to every caller that may connect)."""
        reply = self._call("health")
        keyring = _member(reply, "keyring", dict)
        return Health(
            version=_member(reply, "version", str),
            uptime=_member(reply, "uptime", int),
            connections=_member(reply, "connections", int),
            kek_primary=_member(keyring, "primary", int),
            keks=_member(keyring, "keks", int),
            secrets=_member(reply, "secrets", int),
            tokens=_member(reply, "tokens", int),
            raw={k: v for k, v in reply.items() if k not in ("id", "ok")},
        )

    def whoami(self) -> Dict[str, Any]:
        """How the daemon sees this caller and what the policy lets it do
        (uid, unit, principals, admin, grants, ...), as a dict."""
        reply = self._call("whoami")
        return {k: v for k, v in reply.items() if k not in ("id", "ok")}

    # ---- secrets ----

    def _secret(self, reply: Mapping[str, Any], stage: str) -> Secret:
        try:
            value = base64.b64decode(_member(reply, "value", str), validate=True)
        except binascii.Error:
            raise Error(PROTOCOL, "credvaultd sent an invalid reply: a value that is not base64") from None
        return Secret(
            value=value,
            version=_member(reply, "version", int),
            created=_member(reply, "created", int),
            updated=_member(reply, "updated", int) if "updated" in reply else _member(reply, "created", int),
            stage=stage,
            deadline=_member(reply, "deadline", int) if "deadline" in reply else None,
            grace=_member(reply, "grace", int) if "grace" in reply else None,
        )

    def secret_get(self, plugin: str, name: str, stage: Optional[str] = None) -> Secret:
        """The current value of plugin's secret name (or of another stage:
        "previous", "pending"). Error not_found if there is none."""
        _check_name("plugin", plugin)
        _check_name("name", name)
        reply = self._call("secret.get", plugin=plugin, name=name, stage=stage)
        return self._secret(reply, stage or "current")

    def secret_put(self, plugin: str, name: str, value: Value) -> int:
        """Store value (bytes; a str is stored as its UTF-8) as the new
        current version; returns that version. Never sent twice."""
        _check_name("plugin", plugin)
        _check_name("name", name)
        reply = self._call("secret.put", plugin=plugin, name=name, value=_b64(value))
        return _member(reply, "version", int)

    def secret_generate(self, plugin: str, name: str, nbytes: int = 0) -> Secret:
        """Store a fresh random value (nbytes of randomness, 16 to 64; 0:
        the daemon's 32) as unpadded base64url text, and return it: the
        only time the vault hands it out unasked. For service tokens."""
        _check_name("plugin", plugin)
        _check_name("name", name)
        reply = self._call("secret.generate", plugin=plugin, name=name, bytes=nbytes or None)
        return self._secret(reply, "current")

    def secret_verify(
        self, plugin: str, name: str, authorization: Optional[str] = None, value: Optional[Value] = None
    ) -> Match:
        """Check a presented credential against a stored secret without it
        leaving the vault: give ``authorization`` (an HTTP Authorization
        header value as received, "Bearer X" or, for a plugin registered
        with authorization_type basic, "Basic X") or ``value`` (the bare
        value), not both. The returned Match is true on a match. Error
        not_found if no such secret is stored."""
        _check_name("plugin", plugin)
        _check_name("name", name)
        if (authorization is None) == (value is None):
            raise Error(BAD_REQUEST, "give authorization or value, not both")
        reply = self._call(
            "secret.verify",
            plugin=plugin,
            name=name,
            authorization=authorization,
            value=_b64(value) if value is not None else None,
        )
        if not _member(reply, "match", bool):
            return Match(False)
        stage = _member(reply, "stage", str) if "stage" in reply else "current"
        return Match(True, _member(reply, "version", int), stage)

    def secret_delete(self, plugin: str, name: str) -> None:
        """Delete a secret (every stage of it). Error not_found if none."""
        _check_name("plugin", plugin)
        _check_name("name", name)
        self._call("secret.delete", plugin=plugin, name=name)

    # ---- users' OAuth token sets ----

    def token_put(self, plugin: str, user: str, token: TokenResponse) -> int:
        """Store a user's token set: a token endpoint's JSON response as it
        came (a mapping, or its JSON text; RFC 6749 5.1). ``expires_in``
        becomes an absolute ``expires_at``; without a ``refresh_token`` the
        previous one is kept. Returns the new version."""
        _check_name("plugin", plugin)
        _check_user(user)
        reply = self._call("token.put", plugin=plugin, user=user, token=_json_object("token", token))
        return _member(reply, "version", int)

    def token_get(self, plugin: str, user: str, min_valid: int = 0) -> Token:
        """The user's token set if it stays valid ``min_valid`` more seconds.
        Never a stale token; else Error with code not_found (no set),
        refresh_required (with ``expires_at``: refresh it, see
        :meth:`token_refresh_begin`), refresh_in_progress (with
        ``retry_after_ms``: another caller refreshes it), or
        reauth_required (the user must authorize again)."""
        _check_name("plugin", plugin)
        _check_user(user)
        if min_valid < 0:
            raise Error(BAD_REQUEST, "min_valid: must be >= 0")
        reply = self._call("token.get", plugin=plugin, user=user, min_valid=min_valid or None)
        return _token_from(reply)

    def token_delete(self, plugin: str, user: str) -> None:
        """Delete a user's token set. Error not_found if there is none."""
        _check_name("plugin", plugin)
        _check_user(user)
        self._call("token.delete", plugin=plugin, user=user)

    def token_refresh_begin(
        self, plugin: str, user: str, min_valid: int = 0, lease_seconds: int = 0
    ) -> Union[Lease, Token]:
        """Ask to refresh a user's token set; exactly one caller at a time
        gets a lease. Returns a :class:`Lease` (yours: call the provider
        with its refresh_token, then :meth:`token_refresh_commit` or
        :meth:`token_refresh_fail`), or a :class:`Token` when the set is
        valid for ``min_valid`` more seconds (someone refreshed it).
        ``lease_seconds``: 1 to 300, 0 for the daemon's 30. Error
        refresh_in_progress (with ``retry_after_ms``), reauth_required,
        not_found."""
        _check_name("plugin", plugin)
        _check_user(user)
        if min_valid < 0 or lease_seconds < 0:
            raise Error(BAD_REQUEST, "min_valid and lease_seconds: must be >= 0")
        reply = self._call(
            "token.refresh_begin",
            plugin=plugin,
            user=user,
            min_valid=min_valid,
            lease_seconds=lease_seconds or None,
        )
        if not _member(reply, "refresh", bool):
            return _token_from(reply)
        lease = _member(reply, "lease", str)
        if not _LEASE_RE.match(lease):
            raise Error(PROTOCOL, "credvaultd sent an invalid reply: an invalid lease")
        return Lease(
            lease=lease,
            lease_until_ms=_member(reply, "lease_until", int),
            refresh_token=_member(reply, "refresh_token", str),
            version=_member(reply, "version", int),
        )

    def token_refresh_commit(self, plugin: str, user: str, lease: Union[Lease, str], response: TokenResponse) -> int:
        """Store the provider's response to a refresh while ``lease`` holds
        (as :meth:`token_put` would); returns the new version. Error
        conflict: the lease was taken over or the set replaced; read the
        set again. Never sent twice."""
        _check_name("plugin", plugin)
        _check_user(user)
        lease_id = lease.lease if isinstance(lease, Lease) else lease
        reply = self._call(
            "token.refresh_commit",
            plugin=plugin,
            user=user,
            lease=lease_id,
            token=_json_object("token", response),
        )
        return _member(reply, "version", int)

    def token_refresh_fail(
        self, plugin: str, user: str, lease: Union[Lease, str], error: str, retry_at: Optional[int] = None
    ) -> bool:
        """Report that the provider refused the refresh with OAuth ``error``
        (RFC 6749 5.2; "temporarily_unavailable" for a network failure), so
        others need not wait for the lease to run out. ``retry_at`` (Unix
        ms): when you will try again, which ``credvault token ls`` shows.
        Returns True when the set is now reauth_required
        (``invalid_grant``): the user must authorize again."""
        _check_name("plugin", plugin)
        _check_user(user)
        lease_id = lease.lease if isinstance(lease, Lease) else lease
        reply = self._call(
            "token.refresh_fail", plugin=plugin, user=user, lease=lease_id, error=error, retry_at=retry_at
        )
        return _member(reply, "state", str) == "reauth_required"

    # ---- user_http: per-user API keys ----

    def apikey_put(self, plugin: str, user: str, key: Value) -> int:
        """Store user's API key (1 to 32768 bytes; a str as its UTF-8),
        replacing the previous one; returns the version. Error conflict:
        the key belongs to another user of the plugin."""
        _check_name("plugin", plugin)
        _check_user(user)
        if not _value_bytes(key):
            raise Error(BAD_REQUEST, "key: must not be empty")
        reply = self._call("apikey.put", plugin=plugin, user=user, value=_b64(key))
        return _member(reply, "version", int)

    def apikey_lookup(self, plugin: str, key: Value) -> Optional[str]:
        """Which user a presented key belongs to, or None if nobody's."""
        _check_name("plugin", plugin)
        data = _value_bytes(key)
        if not data or len(data) > SECRET_VALUE_SIZE_MAX:
            return None  # nobody's key, as libcredvault answers
        reply = self._call("apikey.lookup", plugin=plugin, value=_b64(data))
        return _member(reply, "user", str, nullable=True)

    def apikey_lookup_header(self, plugin: str, authorization: str) -> Optional[str]:
        """The same from an Authorization header value ("Bearer KEY")."""
        _check_name("plugin", plugin)
        reply = self._call("apikey.lookup", plugin=plugin, authorization=authorization)
        return _member(reply, "user", str, nullable=True)

    def apikey_delete(self, plugin: str, user: str) -> None:
        """Delete user's API key. Error not_found if there is none."""
        _check_name("plugin", plugin)
        _check_user(user)
        self._call("apikey.delete", plugin=plugin, user=user)

    # ---- oauth: the plugin's own client credentials ----

    def oauth_verify_client(
        self,
        plugin: str,
        authorization: Optional[str] = None,
        client_id: Optional[str] = None,
        client_secret: Optional[str] = None,
    ) -> bool:
        """Check the client credentials a plugin's token endpoint received
        against its stored client_id and client_secret: either the HTTP
        Basic ``authorization`` header (client_secret_basic), or the two
        form fields (client_secret_post). True on a match. Error not_found
        if either secret was never stored."""
        _check_name("plugin", plugin)
        basic = authorization is not None and client_id is None and client_secret is None
        post = authorization is None and client_id is not None and client_secret is not None
        if not (basic or post):
            raise Error(BAD_REQUEST, "give authorization, or client_id and client_secret")
        reply = self._call(
            "oauth.verify_client",
            plugin=plugin,
            authorization=authorization,
            client_id=client_id,
            client_secret=client_secret,
        )
        return _member(reply, "match", bool)

    # ---- plugins ----

    def plugin_register(
        self,
        manifest: Union[Mapping[str, Any], str, bytes],
        name: Optional[str] = None,
        domain: Optional[str] = None,
    ) -> PluginRegistration:
        """Register a plugin from its manifest (a whole ai-plugin.json or
        just its auth block; a mapping or JSON text), or update its
        registration. name None: the manifest's name_for_model; domain
        None: the host of its api.url. Admins only (Error denied). Error
        conflict: the name is registered for another domain."""
        if name is not None:
            _check_name("name", name)
        reply = self._call(
            "plugin.register", manifest=_json_object("manifest", manifest), plugin=name, domain=domain
        )
        return PluginRegistration(
            plugin=_member(reply, "plugin", str),
            domain=_member(reply, "domain", str, nullable=True),
            auth_type=_member(reply, "auth_type", str),
            version=_member(reply, "version", int),
            created=_member(reply, "created", int),
            updated=_member(reply, "updated", int),
        )

    def plugin_manifest_auth(self, plugin: str) -> Dict[str, Any]:
        """The plugin's auth block as its served manifest needs it
        (verification tokens included). Error not_found if the plugin is
        not registered."""
        _check_name("plugin", plugin)
        return _member(self._call("manifest.auth", plugin=plugin), "auth", dict)

    def plugin_delete(self, plugin: str) -> None:
        """Remove a plugin name with all its secrets, token sets and API
        keys, in one transaction. Admins only."""
        _check_name("plugin", plugin)
        self._call("plugin.delete", plugin=plugin)
