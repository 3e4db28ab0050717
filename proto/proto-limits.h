/* proto-limits.h — every size limit of credvault, in one place.
 *
 * Owns: the numbers the daemon, the client library and the tests agree on.
 * The public header client/credvault.h repeats the ones callers need, and
 * the client checks at compile time that the two agree. */
#pragma once

/* Protocol version carried in the "v" field of a request. */
#define PROTO_VERSION 1

/* A frame: 4-byte big-endian length, then that many bytes of JSON. */
#define FRAME_HEADER_SIZE 4
#define FRAME_BODY_MAX (64 * 1024)
#define FRAME_SIZE_MAX (FRAME_HEADER_SIZE + FRAME_BODY_MAX)

/* Plugin names and secret names: [A-Za-z0-9_.:@-], 1..NAME_SIZE_MAX bytes. */
#define NAME_SIZE_MAX 128
/* User ids: printable UTF-8, no control characters, 1..USER_ID_SIZE_MAX bytes. */
#define USER_ID_SIZE_MAX 256

/* A secret value is bytes; on the wire it is base64 (standard alphabet,
 * padded), so any value up to the limit fits a frame with room to spare:
 * 4 * 32768 / 3 = 43692 bytes of text. */
#define SECRET_VALUE_SIZE_MAX (32 * 1024)
#define SECRET_VALUE_B64_SIZE_MAX (((SECRET_VALUE_SIZE_MAX + 2) / 3) * 4)

/* OAuth token set fields (RFC 6749 restricts them to printable ASCII, so
 * JSON escaping at most doubles them and the set always fits a frame). */
#define TOKEN_SECRET_SIZE_MAX (8 * 1024) /* access_token, refresh_token */
#define TOKEN_TYPE_SIZE_MAX 64
#define TOKEN_SCOPE_SIZE_MAX (4 * 1024)
/* A token endpoint's response as token.put and token.refresh_commit take
 * it: compact JSON, other fields included. */
#define TOKEN_RESPONSE_SIZE_MAX (48 * 1024)
/* Storing a response writes expires_in as expires_at: a key of the same
 * length, and a number of at most 20 characters (any int64) in place of
 * one of at least 1. */
#define TOKEN_SET_GROWTH_MAX 19
/* A whole token set as stored, compact JSON. Any response within
 * TOKEN_RESPONSE_SIZE_MAX fits once its expires_at is written, so only a
 * refresh token carried over from the previous set can push a set over;
 * and a reply carrying a set (token.get: some 200 bytes besides) always
 * fits a frame. */
#define TOKEN_SET_SIZE_MAX (TOKEN_RESPONSE_SIZE_MAX + TOKEN_SET_GROWTH_MAX)
/* A token lives at most ten years; expires_at is before the year 10000. */
#define TOKEN_EXPIRES_IN_MAX (3650LL * 86400)
#define TOKEN_EXPIRES_AT_MAX 253402300799LL
/* A presented Authorization header value. */
#define AUTHORIZATION_SIZE_MAX (TOKEN_SECRET_SIZE_MAX + 64)
/* Refresh leases. */
#define LEASE_ID_SIZE 32
#define LEASE_SECONDS_DEFAULT 30
#define LEASE_SECONDS_MAX 300
/* secret.generate: bytes of randomness in a generated value. */
#define GENERATE_BYTES_MIN 16
#define GENERATE_BYTES_DEFAULT 32
#define GENERATE_BYTES_MAX 64

/* secret.rotate / secret.promote: how long the replaced value stays valid
 * as previous. */
#define SECRET_GRACE_DEFAULT 86400
#define SECRET_GRACE_MAX (366 * 86400)

/* List operations return at most this many items per page. */
#define LIST_PAGE_MAX 100

/* Longest error message the daemon sends; longer ones are cut. */
#define ERROR_MESSAGE_SIZE_MAX 256
/* An unknown field's name, as a message quotes it: cut to this many bytes,
 * on a character boundary. */
#define ERROR_FIELD_NAME_SIZE_MAX 64
/* Members of a request object; no op has nearly that many fields. */
#define REQUEST_MEMBERS_MAX 40

/* A list cursor: "plugin/name" for secrets, a user id for tokens. */
/* audit.list's principal filter: "unit:" and a unit name, or "uid:N". */
#define PRINCIPAL_SIZE_MAX 300

#define CURSOR_SIZE_MAX (NAME_SIZE_MAX + 1 + USER_ID_SIZE_MAX)

/* Plugin manifests: the auth block's strings and verification tokens. */
#define MANIFEST_URL_SIZE_MAX 2048
#define MANIFEST_TEXT_SIZE_MAX 8192
#define DOMAIN_SIZE_MAX 253
#define VERIFICATION_TOKENS_MAX 16
#define VERIFICATION_TOKEN_SIZE_MAX 256
/* The public auth block as stored (compact JSON, escapes included): room
 * for every field at its own limit, and with a page of secret names
 * (100 × 128) plugin.get still fits a frame. */
#define AUTH_PUBLIC_SIZE_MAX (32 * 1024)
