#!/usr/bin/env python3
"""bench/revoke.py N: what revocation on delete (RFC 7009) costs.

Registers two oauth plugins against a local HTTP endpoint answering 200,
one with a revocation_endpoint secret; stores N token sets in each;
deletes them all (timing token.delete without and with the revocation
queued); then runs credvault-refresher --once and times the N
revocations. Run it through the test harness, which starts a daemon of
the build tree on a temporary socket (CREDVAULT_SOCKET):

  PYROOT=client/python REFRESHER=build/refresher/credvault-refresher \
  CREDVAULTD=build/daemon/credvaultd build/tests/cv-harness python3 bench/revoke.py 1000

Results: docs/operations.md, "Revoking users' tokens when their set is
deleted".
"""
import os, sys, time, subprocess, threading, http.server, socketserver
sys.path.insert(0, os.environ["PYROOT"])
import credvault
N = int(sys.argv[1]); sock = os.environ["CREDVAULT_SOCKET"]; hits = [0]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0))); hits[0] += 1
        self.send_response(200); self.send_header("content-length", "0"); self.end_headers()
    def log_message(self, *a): pass
class S(socketserver.ThreadingMixIn, http.server.HTTPServer): daemon_threads = True
srv = S(("127.0.0.1", 0), H); port = srv.server_address[1]
threading.Thread(target=srv.serve_forever, daemon=True).start()
c = credvault.Client(sock)
auth = {"type": "oauth", "client_url": "http://127.0.0.1/a", "authorization_url": f"http://127.0.0.1:{port}/token", "scope": "x"}
for p in ("plain", "rev"):
    c.plugin_register({"schema_version": "v1", "name_for_model": p, "auth": auth,
                       "api": {"type": "openapi", "url": "https://x.example/openapi.yaml"}}, name=p, domain="x.example")
    c.secret_put(p, "client_id", "id"); c.secret_put(p, "client_secret", "s")
c.secret_put("rev", "revocation_endpoint", f"http://127.0.0.1:{port}/revoke")
tok = {"access_token": "at-" + "x" * 40, "token_type": "Bearer", "expires_in": 86400, "refresh_token": "rt-" + "y" * 40}
for p in ("plain", "rev"):
    for i in range(N): c.token_put(p, f"u{i:05d}", tok)
for p in ("plain", "rev"):
    t0 = time.perf_counter()
    for i in range(N): c.token_delete(p, f"u{i:05d}")
    dt = time.perf_counter() - t0
    print(f"token.delete x{N} on '{p}': {dt*1000:.0f} ms, {dt*1e6/N:.0f} us each")
t0 = time.perf_counter()
r = subprocess.run([os.environ["REFRESHER"], "--socket", sock, "--once"], capture_output=True, text=True)
dt = time.perf_counter() - t0
print(f"credvault-refresher --once: exit {r.returncode}, {hits[0]} revocation requests, {dt*1000:.0f} ms ({N/dt:.0f}/s)")
print("health revocations after:", c.call_raw({"op": "health"})["revocations"])
