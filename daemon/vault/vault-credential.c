/* vault-credential.c — checking presented credentials against stored ones
 * (see vault.h): service tokens (secret.verify), OAuth client credentials,
 * and users' API keys with the index that finds a key's user.
 *
 * Owns: the constant-time comparison, reading a credential out of an HTTP
 * Authorization header in the plugin's scheme, and the keyed lookup hash of
 * API keys. Never: tells anyone how a presented value differs from the
 * stored one, or lets a stored value out; the answer is match or no match.
 *
 * A presented value is compared with a stored one as keyed BLAKE2b digests
 * under the keyring's per-process compare key, with sodium_memcmp(): equal
 * lengths always, so how much of the presented value matches never shows in
 * the time taken (the stored value's rough length does: it is decrypted and
 * hashed). */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "vault-internal.h"

#define DIGEST_SIZE 32

static bool ct_equal(const Keyring *k, const uint8_t *a, size_t a_size, const uint8_t *b, size_t b_size) {
        uint8_t da[DIGEST_SIZE], db[DIGEST_SIZE];
        crypto_generichash(da, sizeof(da), a, a_size, keyring_compare_key(k), KEK_SIZE);
        crypto_generichash(db, sizeof(db), b, b_size, keyring_compare_key(k), KEK_SIZE);
        bool equal = sodium_memcmp(da, db, sizeof(da)) == 0;
        sodium_memzero(da, sizeof(da));
        sodium_memzero(db, sizeof(db));
        return equal;
}

/* "Scheme credentials" → credentials, if the scheme is the wanted one
 * (case-insensitive, RFC 9110 §11.1); NULL otherwise. */
static const char *authorization_credentials(const char *header, const char *scheme) {
        size_t n = strlen(scheme);
        if (!header || strncasecmp(header, scheme, n) != 0 || header[n] != ' ')
                return NULL;
        header += n;
        while (*header == ' ')
                header++;
        return *header ? header : NULL;
}

/* The presented credential: its value, or the credentials of the
 * Authorization header in the scheme of the plugin's manifest (bearer when
 * it is not registered). *ret NULL if the header is of another scheme. */
static int presented(Vault *v, const char *plugin, const Presented *p, const uint8_t **ret, size_t *ret_size) {
        AuthScheme scheme;

        if (p->value) {
                *ret = p->value;
                *ret_size = p->size;
                return 0;
        }
        /* From the plugin's checked row: a scheme flipped in the database
         * is -EUCLEAN, never the scheme a header is read in. */
        int r = vault_plugin_scheme(v, plugin, &scheme);
        if (r < 0)
                return r;
        const char *cred =
                authorization_credentials(p->authorization, scheme == AUTH_SCHEME_BASIC ? "Basic" : "Bearer");
        *ret = (const uint8_t *) cred;
        *ret_size = cred ? strlen(cred) : 0;
        return 0;
}

int vault_secret_verify_stage(Vault *v, const char *plugin, const char *name, const Presented *p, bool *ret_match,
                              StoredRecord *ret_meta, RecordStage *ret_stage) {
        _cleanup_(secret_buf_freep) SecretBuf *stored = NULL, *previous = NULL;
        StoredRecord meta = {};
        const uint8_t *value = NULL;
        size_t size = 0;
        int64_t previous_version = 0;
        int r;

        r = presented(v, plugin, p, &value, &size);
        if (r < 0)
                return r;
        r = vault_record_get(v, RECORD_SECRET, plugin, name, &stored, &meta);
        if (r < 0)
                return r;
        /* An in-grace previous version (rotation with overlap) is compared
         * too, and always both once there is one: the time taken says
         * only that a previous version exists, not which one matched. */
        r = vault_stage_previous_open(v, plugin, name, time(NULL), &previous, &previous_version);
        if (r < 0 && r != -ENOENT)
                return r;
        bool current_ok = value && ct_equal(v->keyring, stored->data, stored->size, value, size);
        bool previous_ok = value && previous && ct_equal(v->keyring, previous->data, previous->size, value, size);
        *ret_match = current_ok | previous_ok;
        if (!current_ok && previous_ok) {
                meta.version = previous_version;
                if (ret_stage)
                        *ret_stage = RECORD_STAGE_PREVIOUS;
        } else if (ret_stage)
                *ret_stage = RECORD_STAGE_CURRENT;
        if (ret_meta)
                *ret_meta = meta;
        return 0;
}

int vault_secret_verify(Vault *v, const char *plugin, const char *name, const Presented *p, bool *ret_match,
                        StoredRecord *ret_meta) {
        return vault_secret_verify_stage(v, plugin, name, p, ret_match, ret_meta, NULL);
}

static int hex_value(int c) {
        return c >= '0' && c <= '9'   ? c - '0'
               : c >= 'a' && c <= 'f' ? c - 'a' + 10
               : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                      : -1;
}

/* application/x-www-form-urlencoded decoding, in place (RFC 6749 §2.3.1
 * encodes client_id and client_secret so before Basic). False if malformed. */
static bool form_decode(char *s, size_t *ret_size) {
        char *w = s;
        for (const char *p = s; *p; p++) {
                if (*p == '+')
                        *w++ = ' ';
                else if (*p == '%') {
                        int hi = hex_value(p[1]), lo = hi >= 0 ? hex_value(p[2]) : -1;
                        if (lo < 0)
                                return false;
                        *w++ = (char) (hi << 4 | lo);
                        p += 2;
                } else
                        *w++ = *p;
        }
        *ret_size = (size_t) (w - s);
        *w = '\0';
        return true;
}

int vault_oauth_client_check(Vault *v, const char *plugin, const char *client_id, const char *client_secret,
                             const char *authorization, bool *ret_match, const char **ret_missing) {
        _cleanup_(secret_buf_freep) SecretBuf *id = NULL, *secret = NULL, *previous = NULL, *basic = NULL;
        const char *given_id = client_id, *given_secret = client_secret;
        size_t id_size = given_id ? strlen(given_id) : 0, secret_size = given_secret ? strlen(given_secret) : 0;
        const char *missing = "client_id";
        bool well_formed = true;
        int r;

        r = vault_record_get(v, RECORD_SECRET, plugin, "client_id", &id, NULL);
        if (r >= 0) {
                missing = "client_secret";
                r = vault_record_get(v, RECORD_SECRET, plugin, "client_secret", &secret, NULL);
        }
        if (r < 0) {
                if (r == -ENOENT && ret_missing)
                        *ret_missing = missing;
                return r;
        }
        /* A client secret being rotated: the previous one stays good
         * until its deadline, so clients can switch over at their pace. */
        r = vault_stage_previous_open(v, plugin, "client_secret", time(NULL), &previous, NULL);
        if (r < 0 && r != -ENOENT)
                return r;

        if (authorization) {
                /* client_secret_basic: base64("id:secret"), each part
                 * form-encoded first. */
                const char *cred = authorization_credentials(authorization, "Basic");
                char *colon = NULL;
                well_formed = cred && secret_buf_from_base64(cred, strlen(cred), &basic) >= 0;
                /* A NUL would end the strings early and ignore what follows. */
                if (well_formed && !memchr(basic->data, '\0', basic->size))
                        colon = memchr(basic->data, ':', basic->size);
                well_formed = colon != NULL;
                if (well_formed) {
                        *colon = '\0';
                        given_id = (const char *) basic->data;
                        given_secret = colon + 1;
                        well_formed = form_decode((char *) given_id, &id_size) &&
                                      form_decode((char *) given_secret, &secret_size);
                }
        }
        /* Both comparisons always run: the time says nothing about which
         * part was wrong. */
        bool id_ok = well_formed && ct_equal(v->keyring, id->data, id->size, (const uint8_t *) given_id, id_size);
        bool secret_ok = well_formed &&
                         ct_equal(v->keyring, secret->data, secret->size, (const uint8_t *) given_secret, secret_size);
        bool previous_ok =
                well_formed && previous &&
                ct_equal(v->keyring, previous->data, previous->size, (const uint8_t *) given_secret, secret_size);
        *ret_match = id_ok & (secret_ok | previous_ok);
        return 0;
}

/* The lookup hash of a presented key: keyed by the keyring's index key and
 * bound to the plugin, so equal keys of two plugins do not collide. */
static void apikey_lookup_hash(const Keyring *k, const char *plugin, const uint8_t *key, size_t size,
                               uint8_t ret[static APIKEY_LOOKUP_SIZE]) {
        crypto_generichash_state st;
        crypto_generichash_init(&st, keyring_index_key(k), KEK_SIZE, APIKEY_LOOKUP_SIZE);
        crypto_generichash_update(&st, (const uint8_t *) plugin, strlen(plugin) + 1);
        crypto_generichash_update(&st, key, size);
        crypto_generichash_final(&st, ret, APIKEY_LOOKUP_SIZE);
        sodium_memzero(&st, sizeof(st));
}

int vault_apikey_put(Vault *v, const char *plugin, const char *user, const uint8_t *key, size_t size,
                     StoredRecord *ret_meta) {
        uint8_t lookup[APIKEY_LOOKUP_SIZE];
        int r;

        /* Checked first, so that -EINVAL means an empty key and nothing
         * else: the caller words it. */
        if (size == 0)
                return -EINVAL;
        apikey_lookup_hash(v->keyring, plugin, key, size, lookup);
        r = store_begin(v->store);
        if (r < 0)
                return r;
        /* The key and its index row go together or not at all: a key
         * another user holds leaves this user's old key in place. */
        r = vault_record_put_locked(v, RECORD_APIKEY, plugin, user, key, size, -1, ret_meta);
        if (r >= 0)
                r = store_apikey_index_put(v->store, plugin, user, lookup);
        return vault_end(v, r);
}

int vault_apikey_lookup(Vault *v, const char *plugin, const Presented *p, char **ret_user) {
        _cleanup_(secret_buf_freep) SecretBuf *stored = NULL;
        uint8_t lookup[APIKEY_LOOKUP_SIZE];
        _cleanup_(freep) char *user = NULL;
        const uint8_t *key = NULL;
        size_t size = 0;
        int r;

        *ret_user = NULL;
        r = presented(v, plugin, p, &key, &size);
        if (r < 0)
                return r;
        /* No key (or one in another scheme) is nobody's. */
        if (!key || size == 0)
                return 0;
        apikey_lookup_hash(v->keyring, plugin, key, size, lookup);
        r = store_apikey_index_find(v->store, plugin, lookup, &user);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        /* The hash found a candidate; the key itself confirms it. An index
         * row without its key means rows were removed behind our back. */
        r = vault_record_get(v, RECORD_APIKEY, plugin, user, &stored, NULL);
        if (r < 0)
                return r == -ENOENT ? -EUCLEAN : r;
        if (ct_equal(v->keyring, stored->data, stored->size, key, size))
                *ret_user = TAKE_PTR(user);
        return 0;
}

int vault_apikey_delete(Vault *v, const char *plugin, const char *user) {
        /* The index row goes with it (a trigger of the apikey table). */
        return vault_record_delete(v, RECORD_APIKEY, plugin, user);
}
