"""The Python snippets of the docs, run against the real credvaultd.

docs/plugins.md: every fenced ```python block, in order, in one namespace
(the page's first block opens the client `c` the others use), then the
functions they define are called for each outcome the page promises.
docs/protocol.md: the minimal client, which must honour $CREDVAULT_SOCKET.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import unittest
from typing import Any, Dict, List

import credvault
from cvtest import SRC_ROOT


def python_blocks(doc: str) -> List[str]:
    text = (SRC_ROOT / "docs" / doc).read_text()
    return re.findall(r"^```python\n(.*?)^```$", text, re.S | re.M)


MANIFESTS: Dict[str, Dict[str, Any]] = {
    "none": {"schema_version": "v1", "name_for_model": "clock", "auth": {"type": "none"}},
    "service_http": {
        "schema_version": "v1",
        "name_for_model": "todo",
        "auth": {
            "type": "service_http",
            "authorization_type": "bearer",
            "verification_tokens": {"openai": "a8b0c2d4e6f8a1b3"},
        },
        "api": {"type": "openapi", "url": "https://todo.example.com/openapi.yaml"},
    },
    "oauth": {
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


class TestPluginsMd(unittest.TestCase):
    def setUp(self) -> None:
        self.admin = credvault.Client()
        self.cwd = os.getcwd()
        self.tmp = tempfile.TemporaryDirectory()
        os.chdir(self.tmp.name)
        # The systemd credentials block reads what LoadCredential= left
        # (tests/systemd/test-load-credential.sh loads it for real).
        creds = os.path.join(self.tmp.name, "credentials")
        os.mkdir(creds)
        with open(os.path.join(creds, "todo.client_secret"), "wb") as f:
            f.write(b"from-systemd")
        os.environ["CREDENTIALS_DIRECTORY"] = creds

    def tearDown(self) -> None:
        os.environ.pop("CREDENTIALS_DIRECTORY", None)
        os.chdir(self.cwd)
        self.tmp.cleanup()
        self.admin.close()

    def run_blocks(self, blocks: List[str], ns: Dict[str, Any], auth_type: str) -> None:
        with open("ai-plugin.json", "w") as f:
            json.dump(MANIFESTS[auth_type], f)
        for i, block in enumerate(blocks):
            try:
                exec(compile(block, f"docs/plugins.md python block {i + 1}", "exec"), ns)
            except Exception as e:
                raise AssertionError(f"docs/plugins.md python block {i + 1} fails:\n{block}") from e

    def test_snippets(self) -> None:
        blocks = python_blocks("plugins.md")
        self.assertGreaterEqual(len(blocks), 6)
        ns: Dict[str, Any] = {"__name__": "plugins_md"}

        # Every block, with the manifest of each auth type in ai-plugin.json:
        # the registration block registers it and renders its auth block.
        for auth_type, manifest in MANIFESTS.items():
            with self.subTest(auth_type=auth_type):
                if "c" in ns:
                    ns["c"].close()  # the first block opens it again
                self.run_blocks(blocks, ns, auth_type)
                reg = ns["registration"]
                self.assertEqual((reg.plugin, reg.auth_type), (manifest["name_for_model"], auth_type))
                self.assertEqual(ns["manifest"]["auth"], manifest["auth"])
        c = ns["c"]
        self.addCleanup(c.close)
        self.assertIsInstance(c, credvault.Client)
        self.assertEqual(c.socket_path, os.environ["CREDVAULT_SOCKET"])

        # service_http
        authorized = ns["service_request_authorized"]
        with self.assertRaises(credvault.Error) as cm:
            authorized(c, "Bearer x")
        self.assertEqual(cm.exception.code, "not_found")  # no service_token yet
        token = self.admin.secret_generate("todo", "service_token").value.decode()
        self.assertIs(authorized(c, "Bearer " + token), True)
        self.assertIs(authorized(c, "bearer  " + token), True)
        self.assertIs(authorized(c, "Bearer " + token + "x"), False)
        self.assertIs(authorized(c, None), False)

        # user_http
        ns["api_key_issue"](c, "alice@example.com", "wk_live_51HxQa")
        self.assertEqual(ns["request_user"](c, "Bearer wk_live_51HxQa"), "alice@example.com")
        self.assertIsNone(ns["request_user"](c, "Bearer wk_live_guess1"))
        self.assertIsNone(ns["request_user"](c, None))
        with self.assertRaises(credvault.Error) as cm:
            ns["api_key_issue"](c, "bob", "wk_live_51HxQa")
        self.assertEqual(cm.exception.code, "conflict")

        # oauth: the token endpoint
        ok = ns["token_endpoint_client_ok"]
        self.admin.secret_put("calendar", "client_id", b"assistant-7c1f")
        self.admin.secret_put("calendar", "client_secret", b"cs_9Qm2vLx4Tz")
        basic = "Basic " + base64.b64encode(b"assistant-7c1f:cs_9Qm2vLx4Tz").decode()
        self.assertIs(ok(c, basic, None, None), True)
        self.assertIs(ok(c, None, "assistant-7c1f", "cs_9Qm2vLx4Tz"), True)
        self.assertIs(ok(c, None, "assistant-7c1f", "guess"), False)
        self.assertIs(ok(c, None, None, None), False)

        self.check_user_token(ns, c)

    def check_user_token(self, ns: Dict[str, Any], c: credvault.Client) -> None:
        user_token = ns["user_token"]
        ProviderError = ns["ProviderError"]
        calls: List[str] = []
        outcome: Dict[str, Any] = {}

        def provider(refresh_token: str) -> str:
            calls.append(refresh_token)
            if "raise" in outcome:
                raise outcome["raise"]
            return json.dumps({"access_token": outcome["access_token"], "token_type": "Bearer", "expires_in": 3600})

        ns["provider_refresh"] = provider
        put = self.admin.token_put

        # Valid: no refresh.
        put("calendar", "u-valid", {"access_token": "at-1", "token_type": "Bearer", "expires_in": 3600, "refresh_token": "rt-1"})
        self.assertEqual(user_token(c, "u-valid").access_token, "at-1")
        self.assertEqual(calls, [])

        # Expiring: refreshed here; the provider's rotated token is kept.
        put("calendar", "u-exp", {"access_token": "at-1", "token_type": "Bearer", "expires_in": 30, "refresh_token": "rt-1"})
        outcome.update(access_token="at-2")
        t = user_token(c, "u-exp")
        self.assertEqual((t.access_token, t.refresh_token, t.version), ("at-2", "rt-1", 2))
        self.assertEqual(calls, ["rt-1"])

        # Another worker holds the lease and dies: wait, take over, refresh.
        put("calendar", "u-wait", {"access_token": "at-1", "token_type": "Bearer", "expires_in": 30, "refresh_token": "rt-w"})
        held = self.admin.token_refresh_begin("calendar", "u-wait", min_valid=60, lease_seconds=1)
        self.assertIsInstance(held, credvault.Lease)
        outcome.update(access_token="at-w2")
        t0 = time.monotonic()
        self.assertEqual(user_token(c, "u-wait").access_token, "at-w2")
        self.assertGreater(time.monotonic() - t0, 0.5)

        # invalid_grant: the user must authorize again.
        put("calendar", "u-revoked", {"access_token": "a", "token_type": "Bearer", "expires_in": 30, "refresh_token": "rt-r"})
        outcome["raise"] = ProviderError("invalid_grant")
        with self.assertRaises(credvault.Error) as cm:
            user_token(c, "u-revoked")
        self.assertEqual(cm.exception.code, "reauth_required")
        with self.assertRaises(credvault.Error) as cm:
            c.token_get("calendar", "u-revoked")
        self.assertEqual(cm.exception.code, "reauth_required")

        # The provider unreachable: try later; the set is left as it was.
        put("calendar", "u-down", {"access_token": "a", "token_type": "Bearer", "expires_in": 30, "refresh_token": "rt-d"})
        outcome["raise"] = OSError("unreachable")
        with self.assertRaises(credvault.Error) as cm:
            user_token(c, "u-down")
        self.assertEqual(cm.exception.code, "unavailable")
        self.assertEqual(c.token_get("calendar", "u-down").refresh_token, "rt-d")

        # Never authorized.
        with self.assertRaises(credvault.Error) as cm:
            user_token(c, "u-never")
        self.assertEqual(cm.exception.code, "not_found")


class TestProtocolMd(unittest.TestCase):
    def test_minimal_client(self) -> None:
        blocks = python_blocks("protocol.md")
        self.assertEqual(len(blocks), 1)
        self.assertIn("CREDVAULT_SOCKET", blocks[0])
        out = subprocess.run(
            [sys.executable, "-c", blocks[0]], capture_output=True, text=True, timeout=30, check=True
        ).stdout
        self.assertIn("'ok': True", out)
        self.assertIn("'version'", out)


if __name__ == "__main__":
    unittest.main()
