#!/usr/bin/env python3
"""make-corpus.py — write the seed corpora of the fuzz targets (corpus/*).

    tests/fuzz/make-corpus.py [SOURCE_ROOT]

Seeds come from docs/protocol.md's examples (every request line "→ ..."
and reply line "← ..."), from the public plugin store corpus
(tests/data/plugin-store-manifests.json, a copy of the project's
../shared/corpus/plugin-store-manifests.json: 20 auth blocks and 3 whole
manifests, picked to cover every auth type and field combination), and a
few made here for what neither has (frame edge cases, token responses as
providers send them). Deterministic: running it again writes the same
files. Each target's input format is in its source file's header comment.
"""
import hashlib
import json
import os
import shutil
import struct
import sys

root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
root = os.path.abspath(root)
out = os.path.join(root, "tests", "fuzz", "corpus")
SEP = b"\n#\n"  # FUZZ_SEPARATOR in fuzz.h
# A 70-byte key with a 4-byte character at bytes 62..65: cut at 64 bytes, it splits.
KEY_SPLIT = b"k" * 62 + "\U00100000".encode() + b"k" * 4
KEY_SPLIT_REQUEST = b'{"v":1,"id":9,"op":"health","' + KEY_SPLIT + b'":1}'

OPS = ["health", "secret.put", "secret.get", "secret.list", "secret.delete", "token.put", "token.get",
       "token.list", "token.delete", "token.refresh_begin", "token.refresh_commit", "token.refresh_fail",
       "secret.generate", "secret.verify", "plugin.register", "plugin.list", "plugin.get", "plugin.delete",
       "manifest.auth", "oauth.verify_client", "apikey.put", "apikey.lookup", "apikey.list", "apikey.delete"]


def frame(body):
    return struct.pack(">I", len(body)) + body


def doc_examples():
    """(request, reply) byte pairs of docs/protocol.md, in order."""
    pairs, pending = [], None
    with open(os.path.join(root, "docs", "protocol.md"), encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("→ "):
                pending = line[2:].encode()
            elif line.startswith("← ") and pending is not None:
                pairs.append((pending, line[2:].encode()))
                pending = None
    return pairs


def load(text):
    """The JSON object of an example, {} for the malformed ones."""
    try:
        j = json.loads(text)
    except ValueError:
        return {}
    return j if isinstance(j, dict) else {}


def op_of(request):
    return load(request).get("op")


written = {}


def seed(target, name, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    # One file per distinct input.
    digest = hashlib.sha1(data).hexdigest()
    if digest in written.setdefault(target, set()):
        return
    written[target].add(digest)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    shutil.rmtree(out, ignore_errors=True)
    pairs = doc_examples()
    requests = [q for q, _ in pairs]
    replies = [a for _, a in pairs]

    # frame: first byte = how the stream arrives (fuzz-frame.c), then the stream.
    stream = b"".join(frame(q) for q in requests[:3])
    seed("frame", "docs-three-requests", b"\x07" + stream)
    seed("frame", "docs-three-requests-bytewise", b"\x80" + stream)
    seed("frame", "empty-frame-then-request", b"\x03" + struct.pack(">I", 0) + frame(requests[0]))
    seed("frame", "oversized-length", b"\x10" + frame(requests[0]) + struct.pack(">I", 64 * 1024 + 1) + b"{}")
    seed("frame", "largest-length-partial", b"\xff" + struct.pack(">I", 64 * 1024) + b'{"v":1')
    seed("frame", "header-split", b"\x80" + frame(requests[1])[:3])

    # request: mode 0 = a body as it came; 1 = op index + members; 2 = structured choices.
    # Two examples of each op, and every example the daemon refuses.
    per_op = {}
    for i, (q, a) in enumerate(pairs):
        op = op_of(q) or "invalid"
        per_op[op] = per_op.get(op, 0) + 1
        if per_op[op] <= 2 or b'"ok":false' in a:
            seed("request", "docs-%02d-%s" % (i, op.replace(".", "-")), b"\x00" + q)
    for i, op in enumerate(OPS):
        example = next((q for q in requests if op_of(q) == op), None)
        if example is None:
            continue
        members = json.loads(example)
        for k in ("v", "id", "op"):
            members.pop(k, None)
        text = json.dumps(members, separators=(",", ":"), ensure_ascii=False).encode()[1:-1]
        seed("request", "op-%02d-%s-members" % (i, op.replace(".", "-")), b"\x01" + bytes([i]) + text)
    seed("request", "structured-secret-put", b"\x02\x01" + bytes([0, 0, 1, 1, 0, 2, 5, 0, 5]))
    seed("request", "structured-token-put", b"\x02\x05" + bytes([0, 0, 1, 2, 0, 3, 6, 4, 0]))
    seed("request", "structured-register", b"\x02\x0e" + bytes([8, 4, 2, 7, 0, 11]))
    # Issue 7, defect 10: an error message quoting an unknown key cut at 64 bytes, inside a
    # 4-byte character (bytes 62..65 of a 70-byte key).
    seed("request", "unknown-key-cut-inside-a-character", b"\x00" + KEY_SPLIT_REQUEST)

    # manifest: JSON text, auth blocks and whole manifests of the plugin store.
    store = json.load(open(os.path.join(root, "tests", "data", "plugin-store-manifests.json"), encoding="utf-8"))
    store.sort(key=lambda e: e["id"])
    picked, shapes = [], {}
    for e in store:
        auth = e["manifest"].get("auth", {})
        shape = (auth.get("type"), tuple(sorted(auth)), auth.get("authorization_type"),
                 auth.get("authorization_content_type"), len(auth.get("verification_tokens") or {}))
        shapes.setdefault(shape, []).append(e)
    # Round-robin over the shapes until 20 distinct auth blocks: every shape, then more of the
    # common ones.
    seen = set()
    while len(picked) < 20 and any(shapes.values()):
        for shape in sorted(shapes, key=str):
            if shapes[shape] and len(picked) < 20:
                e = shapes[shape].pop(len(shapes[shape]) // 2)
                text = json.dumps(e["manifest"]["auth"], sort_keys=True)
                if text not in seen:
                    seen.add(text)
                    picked.append(e)
    for e in picked:
        auth = json.dumps(e["manifest"]["auth"], separators=(",", ":"), ensure_ascii=False).encode()
        seed("manifest", "store-auth-%s-%s" % (e["manifest"]["auth"]["type"], e["id"][7:15]), auth)
    for e in picked[:3]:
        whole = json.dumps(e["manifest"], separators=(",", ":"), ensure_ascii=False).encode()
        seed("manifest", "store-manifest-%s" % e["id"][7:15], whole)
    for i, q in enumerate(requests):
        m = load(q).get("manifest")
        if m is not None:
            seed("manifest", "docs-%02d" % i, json.dumps(m, separators=(",", ":")).encode())

    # Issue 7, defect 10, in an auth block: an unknown field quoted in the message.
    seed("manifest", "unknown-auth-field-cut-inside-a-character", b'{"type":"none","' + KEY_SPLIT + b'":"x"}')

    # json-flat: request and reply bodies, flat and one level nested.
    for i, q in enumerate(requests[:12]):
        seed("json-flat", "docs-request-%02d" % i, q)
    for i, a in enumerate(replies):
        if i % 4 == 0 or b'"token":{' in a:
            seed("json-flat", "docs-reply-%02d" % i, a)
    seed("json-flat", "integers-at-the-limits",
         b'{"a":9223372036854775807,"b":-9223372036854775808,"c":-0,"d":0}')
    seed("json-flat", "utf8-and-whitespace", ' {\t"k\u00e9y" : "v\u00e4l\U0010ffff" ,\r\n"e":""}\n'.encode())

    # token: token endpoint responses (RFC 6749 §5.1), from the docs and typical providers.
    tokens = []
    for q in requests:
        t = load(q).get("token")
        if t is not None:
            tokens.append(json.dumps(t, separators=(",", ":")).encode())
    tokens += [
        b'{"access_token":"2YotnFZFEjr1zCsicMWpAA","token_type":"example","expires_in":3600,'
        b'"refresh_token":"tGzv3JOkF0XG5Qx2TlKWIA","example_parameter":"example_value"}',
        b'{"access_token":"ya29.a0Af","expires_in":3599,"scope":"openid email","token_type":"Bearer",'
        b'"id_token":"eyJhbGciOi.x.y"}',
        b'{"access_token":"gho_16C7e42F","token_type":"bearer","scope":"repo,gist","expires_at":0}',
        b'{"access_token":"a","token_type":"b","expires_in":0,"extra":{"nested":[1,2.5,null,true]}}',
    ]
    for i, t in enumerate(tokens):
        seed("token", "response-%02d" % i, t)
    # Issue 7, defect 11: just under the 49152-byte limit with expires_in 0, which grows when
    # expires_at is written in its place.
    head = b'{"access_token":"' + b"a" * 8192 + b'","token_type":"Bearer","expires_in":0,"filler":"'
    tail = b'"}'
    seed("token", "just-under-the-limit-expires-in-0", head + b"f" * (48 * 1024 - 2 - len(head) - len(tail)) + tail)

    # client-reply: first byte = the library call (fuzz-client-reply.c), then the daemon's replies.
    calls = {"health": 0, "secret.put": 1, "secret.get": 2, "secret.delete": 3, "secret.generate": 4,
             "secret.verify": 5, "secret.list": 7, "token.put": 9, "token.get": 10, "token.refresh_begin": 13,
             "token.refresh_commit": 14, "token.refresh_fail": 15, "token.delete": 16, "token.list": 17,
             "plugin.register": 19, "plugin.list": 20, "plugin.get": 21, "plugin.delete": 22,
             "manifest.auth": 23, "oauth.verify_client": 24, "apikey.put": 25, "apikey.lookup": 26,
             "apikey.delete": 28, "apikey.list": 29}
    # Per call, the first success and the first error reply of the docs.
    kinds = set()
    for i, (q, a) in enumerate(pairs):
        op = op_of(q)
        kind = (op, b'"ok":true' in a)
        if op not in calls or kind in kinds:
            continue
        kinds.add(kind)
        # As the daemon wrote it but for the id: the library's first request is 1.
        rid = load(a).get("id")
        text = a.replace(b'"id":%d,' % rid, b'"id":1,', 1) if isinstance(rid, int) else a
        seed("client-reply", "docs-%02d-%s" % (i, op.replace(".", "-")), bytes([calls[op]]) + text)
    seed("client-reply", "call-json-health", bytes([30]) + replies[0])
    seed("client-reply", "list-two-pages", bytes([20]) +
         b'{"id":1,"ok":true,"plugins":[{"plugin":"a","domain":null,"auth_type":"none","version":1,'
         b'"created":1,"updated":1}],"next":"a"}' + SEP +
         b'{"id":2,"ok":true,"plugins":[{"plugin":"b","domain":"b.example","auth_type":"oauth","version":2,'
         b'"created":1,"updated":2}],"next":null}')
    seed("client-reply", "raw-frame", bytes([0x80]) + frame(replies[0]))
    # Issue 7, defect 12: a list entry missing a member (its strings leaked), a register reply
    # without "plugin" (reported as out of memory), a reply with a NUL inside (cv_call_json).
    seed("client-reply", "plugin-list-entry-without-auth-type", bytes([20]) +
         b'{"id":1,"ok":true,"plugins":[{"plugin":"a","domain":"a.example","version":1,"created":1,'
         b'"updated":1}],"next":null}')
    seed("client-reply", "plugin-register-without-plugin", bytes([19]) +
         b'{"id":1,"ok":true,"domain":null,"auth_type":"none","version":1,"created":1,"updated":1}')
    seed("client-reply", "call-json-nul-inside", bytes([30]) + b'{"id":1,"ok":true}\x00{}')

    # dispatch: first byte 0 = bodies separated by a line "#", 1 = a raw stream.
    sections, current = [], []
    for i, q in enumerate(requests):
        current.append(q)
        if len(current) == 6:
            sections.append(current)
            current = []
    if current:
        sections.append(current)
    for i, s in enumerate(sections):
        seed("dispatch", "docs-requests-%02d" % i, b"\x00" + SEP.join(s))
    seed("dispatch", "raw-stream-with-empty-frame", b"\x01" + frame(requests[0]) + struct.pack(">I", 0) +
         frame(requests[1]))
    seed("dispatch", "raw-stream-oversized", b"\x01" + frame(requests[0]) + struct.pack(">I", 0x7fffffff))
    seed("dispatch", "unknown-key-cut-inside-a-character", b"\x00" + KEY_SPLIT_REQUEST)
    for target in sorted(written):
        print("%-13s %3d seeds" % (target, len(written[target])))


main()
