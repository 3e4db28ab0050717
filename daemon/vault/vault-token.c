/* vault-token.c — users' token sets and their refresh leases (see vault.h).
 *
 * Owns: turning a token response into the set that is stored (expires_at
 * made absolute, the previous refresh_token kept), and the refresh lease:
 * one caller gets it and the refresh token, the others are told to wait;
 * a commit is accepted only while the lease is the holder's and the set is
 * the one it was taken on (compare-and-swap on the version), and is durable
 * before it returns, so a refresh token the provider rotated is never lost.
 * Each call is one transaction of its own. Every state written carries
 * its MAC (vault-mac.c) and every state read is checked before it decides
 * anything, so a database writer cannot revoke a set, extend it, or take or
 * drop a lease behind the vault's back.
 *
 * Never: writes a message or a reply (the errno and the state say what
 * happened; ops words it), or lets a refresh token or a set out but in a
 * SecretBuf. */
#include <errno.h>
#include <sodium.h>
#include <string.h>
#include <time.h>

#include "time-util.h"
#include "vault-internal.h"

static bool lease_active(const TokenState *st, int64_t now_ms) {
        return st->lease_id[0] && st->lease_until > now_ms;
}

/* Compared in constant time: a lease id is what lets its holder commit. */
static bool lease_matches(const TokenState *st, const char *lease) {
        /* Lengths first: sodium_memcmp reads LEASE_ID_SIZE bytes of both. */
        return st->lease_id[0] && strlen(lease) == LEASE_ID_SIZE &&
               sodium_memcmp(st->lease_id, lease, LEASE_ID_SIZE) == 0;
}

/* A set is valid until expires_at (exclusive, as vault_token_state_name() counts
 * it expired from then on), and valid for `seconds` more if it stays so. */
static bool valid_for(const TokenState *st, int64_t seconds) {
        int64_t left = st->expires_at - (int64_t) time(NULL);
        return !st->has_expires_at || (left > 0 && left >= seconds);
}

const char *vault_token_state_name(const TokenInfo *t, int64_t now, int64_t now_ms, int64_t horizon) {
        const TokenState *st = &t->state;
        if (st->reauth_required)
                return "reauth_required";
        if (st->lease_until > now_ms)
                return "refreshing";
        if (st->has_expires_at && st->expires_at <= now)
                return "expired";
        if (st->has_expires_at && st->expires_at <= now + horizon)
                return "expiring";
        return "valid";
}

/* The set to store from a token response: expires_at made absolute, the
 * previous refresh_token carried over when the response has none (a
 * provider that does not rotate leaves it out, and it must outlive the
 * access token it came with). */
static int token_set_build(Vault *v, const char *plugin, const char *user, json_t *response, json_t **ret,
                           int64_t *ret_expires_at) {
        int64_t expires_at = -1;
        json_t *set, *in;

        set = json_deep_copy(response);
        if (!set)
                return -ENOMEM;
        in = json_object_get(set, "expires_in");
        if (in) {
                expires_at = (int64_t) time(NULL) + json_integer_value(in);
                json_object_del(set, "expires_in");
                json_object_set_new(set, "expires_at", json_integer(expires_at));
        } else if (json_object_get(set, "expires_at"))
                expires_at = json_integer_value(json_object_get(set, "expires_at"));

        if (!json_object_get(set, "refresh_token")) {
                _cleanup_(secret_buf_freep) SecretBuf *old = NULL;
                /* No previous set (or one that fails to open) has nothing
                 * to carry over; the new one is stored all the same. */
                if (vault_record_get(v, RECORD_TOKEN, plugin, user, &old, NULL) >= 0) {
                        json_t *prev = json_loadb((const char *) old->data, old->size, 0, NULL);
                        json_t *rt = json_object_get(prev, "refresh_token");
                        if (rt)
                                json_object_set(set, "refresh_token", rt);
                        json_decref(prev);
                }
        }
        *ret = set;
        *ret_expires_at = expires_at;
        return 0;
}

/* The set's state, checked; -EUCLEAN if its MAC does not check. */
static int token_state_get(Vault *v, const char *plugin, const char *user, TokenState *ret) {
        int r = store_token_state_get(v->store, plugin, user, ret);
        if (r < 0)
                return r;
        return vault_token_state_check(v->keyring, plugin, user, ret);
}

/* Write a new state (inside the caller's transaction) with its MAC: a
 * lease taken (lease_id set) or none (lease_id ""). */
static int token_state_write(Vault *v, const char *plugin, const char *user, TokenState *st) {
        int r = vault_token_state_mac(v->keyring, plugin, user, st);
        if (r < 0)
                return r;
        if (st->lease_id[0])
                return store_token_lease_set(v->store, plugin, user, st->lease_id, st->lease_until, st->lease_version,
                                             &st->mac);
        if (st->reauth_required)
                return store_token_release(v->store, plugin, user, true, &st->mac);
        return store_token_reset(v->store, plugin, user, &st->mac);
}

/* Build, seal and store a set, and clear any lease or reauth state; inside
 * the caller's transaction. */
static int token_set_store(Vault *v, const char *plugin, const char *user, json_t *response, StoredRecord *ret_meta) {
        _cleanup_(secret_buf_freep) SecretBuf *text = NULL;
        StoredRecord meta = {};
        json_t *set = NULL;
        int64_t expires_at;
        int r;

        r = token_set_build(v, plugin, user, response, &set, &expires_at);
        if (r < 0)
                return r;
        size_t size = json_dumpb(set, NULL, 0, JSON_COMPACT | JSON_SORT_KEYS);
        /* The response was checked, but the refresh token carried over
         * from the previous set adds to it: what is stored must still fit
         * a reply. */
        if (size > TOKEN_SET_SIZE_MAX) {
                json_decref(set);
                return -EMSGSIZE;
        }
        r = secret_buf_new(size, &text);
        if (r >= 0 && json_dumpb(set, (char *) text->data, size, JSON_COMPACT | JSON_SORT_KEYS) != size)
                r = -EIO;
        json_decref(set);
        if (r < 0)
                return r;
        r = vault_record_put_locked(v, RECORD_TOKEN, plugin, user, text->data, text->size, expires_at, &meta);
        if (r < 0)
                return r;
        /* Valid, no lease, and the version and expiry just written. */
        TokenState st = {
                .version = meta.version,
                .has_expires_at = meta.has_expires_at,
                .expires_at = meta.has_expires_at ? meta.expires_at : 0,
        };
        r = token_state_write(v, plugin, user, &st);
        if (r < 0)
                return r;
        if (ret_meta)
                *ret_meta = meta;
        return 0;
}

/* Begin a transaction and read the set's state in it; rolled back again if
 * the state cannot be read (-ENOENT: no set). */
static int token_state_begin(Vault *v, const char *plugin, const char *user, TokenState *ret) {
        int r = store_begin(v->store);
        if (r < 0)
                return r;
        r = token_state_get(v, plugin, user, ret);
        if (r < 0)
                store_rollback(v->store);
        return r;
}

int vault_token_put(Vault *v, const char *plugin, const char *user, json_t *response, StoredRecord *ret_meta) {
        StoredRecord meta = {};
        int r = store_begin(v->store);
        if (r < 0)
                return r;
        r = token_set_store(v, plugin, user, response, &meta);
        /* A set put anew (the user authorized again) starts without the
         * last refresh's result: it said nothing of this one. A first
         * version has none to clear. */
        if (r >= 0 && meta.version > 1)
                r = store_token_refresh_note(v->store, plugin, user, &(TokenRefreshNote) { .mask = TOKEN_NOTE_ALL });
        r = vault_end(v, r);
        if (r >= 0 && ret_meta)
                *ret_meta = meta;
        return r;
}

int vault_token_get(Vault *v, const char *plugin, const char *user, int64_t min_valid, SecretBuf **ret_text,
                    StoredRecord *ret_meta, TokenState *ret_state) {
        TokenState st;
        int r;

        /* Nothing is written here, so no transaction: the hot path stays
         * two reads (both served from the store's cache when warm) and one
         * MAC over the state. */
        r = token_state_get(v, plugin, user, &st);
        if (r < 0)
                return r;
        if (st.reauth_required)
                return -EKEYREVOKED;
        if (!valid_for(&st, min_valid)) {
                if (ret_state)
                        *ret_state = st;
                /* While someone refreshes, waiting beats a second refresh. */
                return lease_active(&st, time_realtime_ms()) ? -EALREADY : -ESTALE;
        }
        _cleanup_(secret_buf_freep) SecretBuf *text = NULL;
        StoredRecord meta = {};
        r = vault_record_get(v, RECORD_TOKEN, plugin, user, &text, &meta);
        if (r < 0)
                return r;
        /* One row: the sealed set's version (bound by its associated data)
         * and expiry are the checked state's. */
        if (meta.version != st.version || meta.has_expires_at != st.has_expires_at ||
            (st.has_expires_at && meta.expires_at != st.expires_at))
                return -EUCLEAN;
        *ret_text = TAKE_PTR(text);
        if (ret_meta)
                *ret_meta = meta;
        return 0;
}

int vault_token_delete(Vault *v, const char *plugin, const char *user) {
        return vault_record_delete(v, RECORD_TOKEN, plugin, user);
}

/* The refresh notes are outside the state's MAC (store-token.c): what a
 * database writer put there is shown only if it is what the vault writes,
 * an error code of a-z and _ and times a reply can carry (and the
 * arithmetic on them cannot overflow); anything else is shown as none. */
static void refresh_note_check(TokenInfo *t) {
        bool code = t->refresh_result[0] != '\0';
        for (const char *p = t->refresh_result; *p; p++)
                code = code && ((*p >= 'a' && *p <= 'z') || *p == '_');
        if (!code)
                t->refresh_result[0] = '\0';
        if (t->refresh_tried_at < 1 || t->refresh_tried_at > TOKEN_EXPIRES_AT_MAX * 1000)
                t->refresh_tried_at = 0;
        if (t->refresh_next_at < 1 || t->refresh_next_at > TOKEN_EXPIRES_AT_MAX * 1000)
                t->refresh_next_at = 0;
}

int vault_token_list(Vault *v, const char *plugin, const char *after, unsigned limit, TokenInfo **ret, size_t *ret_n) {
        TokenInfo *items = NULL;
        size_t n = 0;

        int r = store_token_list(v->store, plugin, after, limit, &items, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n && r >= 0; i++) {
                r = vault_token_state_check(v->keyring, plugin, items[i].user, &items[i].state);
                refresh_note_check(&items[i]);
        }
        if (r < 0) {
                token_infos_free(items, n);
                return r;
        }
        *ret = items;
        *ret_n = n;
        return 0;
}

void vault_token_refresh_done(TokenRefresh *t) {
        secret_buf_free(t->refresh_token);
        secret_buf_free(t->text);
        stored_record_done(&t->meta);
        *t = (TokenRefresh) {};
}

int vault_token_refresh_begin(Vault *v, const char *plugin, const char *user, int64_t min_valid, int64_t lease_seconds,
                              TokenRefresh *ret, TokenState *ret_state) {
        _cleanup_(vault_token_refresh_done) TokenRefresh t = {};
        _cleanup_(secret_buf_freep) SecretBuf *text = NULL;
        uint8_t id[LEASE_ID_SIZE / 2];
        TokenState st;
        int r;

        r = token_state_begin(v, plugin, user, &st);
        if (r < 0)
                return r;
        if (st.reauth_required) {
                r = -EKEYREVOKED;
                goto rollback;
        }
        int64_t now = time_realtime_ms();
        if (st.has_expires_at && valid_for(&st, min_valid)) {
                /* Someone refreshed it meanwhile: hand back the new set
                 * instead of a lease. */
                store_rollback(v->store);
                r = vault_record_get(v, RECORD_TOKEN, plugin, user, &t.text, &t.meta);
                if (r < 0)
                        return r;
                *ret = t;
                t = (TokenRefresh) {};
                return 0;
        }
        if (lease_active(&st, now)) {
                if (ret_state)
                        *ret_state = st;
                r = -EALREADY;
                goto rollback;
        }
        r = vault_record_get(v, RECORD_TOKEN, plugin, user, &text, NULL);
        if (r < 0)
                goto rollback;
        json_t *set = json_loadb((const char *) text->data, text->size, 0, NULL);
        json_t *rt = json_object_get(set, "refresh_token");
        /* Without a refresh token there is nothing to refresh with: only
         * the user can get a new set. */
        if (!json_is_string(rt)) {
                json_decref(set);
                r = -EKEYREVOKED;
                goto rollback;
        }
        /* Copied before the lease is committed, so that running out of
         * memory leaves no lease taken that nobody was told about. */
        r = secret_buf_new_copy(json_string_value(rt), json_string_length(rt), &t.refresh_token);
        json_decref(set);
        if (r < 0)
                goto rollback;

        randombytes_buf(id, sizeof(id));
        sodium_bin2hex(t.lease, sizeof(t.lease), id, sizeof(id));
        t.refresh = true;
        t.lease_until = now + lease_seconds * MSEC_PER_SEC;
        t.version = st.version;
        memcpy(st.lease_id, t.lease, sizeof(st.lease_id));
        st.lease_until = t.lease_until;
        st.lease_version = st.version;
        r = token_state_write(v, plugin, user, &st);
        /* Tried now; when next is the caller's to say if this one fails. */
        if (r >= 0)
                r = store_token_refresh_note(
                        v->store, plugin, user,
                        &(TokenRefreshNote) { .mask = TOKEN_NOTE_TRIED | TOKEN_NOTE_NEXT, .tried_at = now });
        r = vault_end(v, r);
        if (r < 0)
                return r;
        *ret = t;
        t = (TokenRefresh) {};
        return 0;

rollback:
        store_rollback(v->store);
        return r;
}

int vault_token_refresh_commit(Vault *v, const char *plugin, const char *user, const char *lease, json_t *response,
                               StoredRecord *ret_meta) {
        TokenState st;
        int r;

        r = token_state_begin(v, plugin, user, &st);
        if (r < 0)
                return r;
        /* Compare-and-swap: the lease is still ours (every refresh_begin
         * replaces the lease id, every put clears it) and the set is the one
         * it was taken on. A lease past its deadline that nobody took over
         * still commits: refusing it would drop a refresh token the
         * provider has already rotated. */
        if (!lease_matches(&st, lease) || st.version != st.lease_version)
                r = -EEXIST;
        else
                r = token_set_store(v, plugin, user, response, ret_meta);
        if (r >= 0)
                r = store_token_refresh_note(
                        v->store, plugin, user,
                        &(TokenRefreshNote) { .mask = TOKEN_NOTE_RESULT | TOKEN_NOTE_NEXT, .result = "ok" });
        return vault_end(v, r);
}

int vault_token_refresh_fail(Vault *v, const char *plugin, const char *user, const char *lease, const char *error,
                             int64_t retry_at, TokenRefreshFail *ret) {
        bool invalid_grant = strcmp(error, "invalid_grant") == 0;
        TokenState st;
        int r;

        r = token_state_begin(v, plugin, user, &st);
        if (r < 0)
                return r;
        /* Only the holder of the current lease, on an unchanged set, speaks
         * for the refresh token: an invalid_grant from anyone else lost a
         * race against a rotation and revokes nothing. */
        if (!lease_matches(&st, lease) || st.version != st.lease_version) {
                store_rollback(v->store);
                *ret = (TokenRefreshFail) {
                        .applied = false,
                        .state = st.reauth_required                      ? "reauth_required"
                                 : lease_active(&st, time_realtime_ms()) ? "refreshing"
                                 : !valid_for(&st, 0)                    ? "expired"
                                                                         : "valid",
                };
                return 0;
        }
        st.reauth_required = invalid_grant;
        st.lease_id[0] = '\0';
        st.lease_until = st.lease_version = 0;
        r = token_state_write(v, plugin, user, &st);
        if (r >= 0)
                r = store_token_refresh_note(v->store, plugin, user,
                                             &(TokenRefreshNote) { .mask = TOKEN_NOTE_RESULT | TOKEN_NOTE_NEXT,
                                                                   .result = error,
                                                                   .next_at = invalid_grant ? 0 : retry_at });
        r = vault_end(v, r);
        if (r < 0)
                return r;
        *ret = (TokenRefreshFail) {
                .applied = true,
                .state = invalid_grant ? "reauth_required" : "valid",
        };
        return 0;
}
