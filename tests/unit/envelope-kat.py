#!/usr/bin/env python3
# envelope-kat.py — an independent implementation of the sealed format of
# daemon/crypto/envelope.h (format 1), used to check the known-answer vectors in
# test-envelope.c. Not run by meson (it needs Python's `cryptography`, which
# the project does not depend on); run it by hand when touching the vectors:
#     python3 tests/unit/envelope-kat.py
# It prints one hex line per vector, in the order of test-envelope.c.
import struct
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
M = 0xffffffff
def rotl(v, c): return ((v << c) & M) | (v >> (32 - c))
def qr(s, a, b, c, d):
    s[a] = (s[a] + s[b]) & M; s[d] = rotl(s[d] ^ s[a], 16)
    s[c] = (s[c] + s[d]) & M; s[b] = rotl(s[b] ^ s[c], 12)
    s[a] = (s[a] + s[b]) & M; s[d] = rotl(s[d] ^ s[a], 8)
    s[c] = (s[c] + s[d]) & M; s[b] = rotl(s[b] ^ s[c], 7)
def hchacha(key, n16):
    s = [0x61707865, 0x3320646e, 0x79622d32, 0x6b206574] + list(struct.unpack('<8I', key)) + list(struct.unpack('<4I', n16))
    for _ in range(10):
        qr(s, 0, 4, 8, 12); qr(s, 1, 5, 9, 13); qr(s, 2, 6, 10, 14); qr(s, 3, 7, 11, 15)
        qr(s, 0, 5, 10, 15); qr(s, 1, 6, 11, 12); qr(s, 2, 7, 8, 13); qr(s, 3, 4, 9, 14)
    return struct.pack('<8I', *(s[0:4] + s[12:16]))
def xenc(key, n24, pt, ad):
    return ChaCha20Poly1305(hchacha(key, n24[:16])).encrypt(b'\0' * 4 + n24[16:], pt, ad)
# RFC draft-irtf-cfrg-xchacha HChaCha20 test vector
assert hchacha(bytes(range(32)), bytes.fromhex('000000090000004a0000000031415927')).hex() == \
    '82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc'
kek = bytes(range(32)); dek = bytes(range(0xa0, 0xc0))
dn = bytes(range(0x40, 0x58)); vn = bytes(range(0x60, 0x78))
def seal(kekv, kind, plugin, name, version, pt):
    hdr = b'\x01' + struct.pack('>Q', kekv)
    ad = b'credvault record\0' + hdr + bytes([kind]) + struct.pack('>Q', version) \
        + struct.pack('>H', len(plugin)) + plugin + struct.pack('>H', len(name)) + name
    return hdr + dn + xenc(kek, dn, dek, ad) + vn + xenc(dek, vn, pt, ad)
V = [
    (1, 0, b'todo', b'empty', 1, b''),
    (1, 0, b'todo', b'client_secret', 3, b'hunter2'),
    (0x0102030405060708, 0, b'acme.billing', b'api:key@v2', 0x1122334455667788, b'\x00\x01\xfe\xff secret \x00'),
    (1, 1, b'todo', b'user@example.com', 2, b'{"access_token":"at-123","token_type":"Bearer","expires_at":1700000000}'),
]
for v in V:
    print(seal(*v).hex())
