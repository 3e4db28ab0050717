#!/usr/bin/env python3
# list-page.py — p50 of one secret.list page (limit 100) over a raw socket.
#   bench/list-page.py SOCKET PLUGIN AFTER|- CALLS
import socket, struct, json, sys, time, statistics
sock, plugin, after, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
s = socket.socket(socket.AF_UNIX); s.connect(sock)
def call(req):
    b = json.dumps(req).encode(); s.sendall(struct.pack('>I', len(b)) + b)
    h = b''
    while len(h) < 4: h += s.recv(4 - len(h))
    L = struct.unpack('>I', h)[0]; body = b''
    while len(body) < L: body += s.recv(L - len(body))
    return json.loads(body)
ts = []
for i in range(n):
    req = {"v": 1, "id": i, "op": "secret.list", "plugin": plugin, "limit": 100}
    if after != "-": req["after"] = after
    t = time.perf_counter(); r = call(req); ts.append((time.perf_counter() - t) * 1e6)
    assert r["ok"], r
print(f"plugin={plugin} after={after} n={len(r['secrets'])} p50_us={statistics.median(ts):.0f} min_us={min(ts):.0f}")
