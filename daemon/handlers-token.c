/* handlers-token.c — users' OAuth token sets and their refresh.
 *
 * A token set is stored as a token endpoint returned it (RFC 6749 §5.1),
 * with expires_in turned into an absolute expires_at at ingestion and the
 * previous refresh_token kept when a response carries none. Refresh is
 * coordinated by a lease per set: one caller gets the lease and the refresh
 * token, the others are told to wait; the commit is accepted only while
 * the lease holds and the set is unchanged (its version), and is durable
 * before the answer, so a rotated refresh token is never lost. */
#include <errno.h>
#include <sodium.h>
#include <string.h>
#include <time.h>

#include "dispatch.h"
#include "handlers.h"

/* A waiting caller is told to come back after this long at most, even if
 * the lease runs longer: most refreshes take well under a second. */
#define RETRY_AFTER_MAX_MS 1000

static int64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool lease_active(const TokenState *st, int64_t now) {
        return st->lease_id[0] && st->lease_until > now;
}

static int64_t retry_after(const TokenState *st, int64_t now) {
        int64_t left = st->lease_until - now;
        return left < RETRY_AFTER_MAX_MS ? (left > 0 ? left : 1) : RETRY_AFTER_MAX_MS;
}

static int refresh_in_progress(Failure *f, const TokenState *st, int64_t now) {
        failure(f, "another caller is refreshing this token set; retry shortly");
        f->retry_after_ms = retry_after(st, now);
        return -EALREADY;
}

static int reauth_required(Failure *f) {
        failure(f, "the user must authorize again (refresh token rejected or missing)");
        return -EKEYREVOKED;
}

/* The set to store from a token response: expires_at made absolute, the
 * previous refresh_token carried over when the response has none. */
static int token_set_build(Vault *v, const Request *req, json_t *response, json_t **ret, int64_t *ret_expires_at) {
        json_t *set = json_deep_copy(response);
        json_t *in = json_object_get(set, "expires_in");
        int64_t expires_at = -1;

        if (!set)
                return -ENOMEM;
        if (in) {
                expires_at = (int64_t) time(NULL) + json_integer_value(in);
                json_object_del(set, "expires_in");
                json_object_set_new(set, "expires_at", json_integer(expires_at));
        } else if (json_object_get(set, "expires_at"))
                expires_at = json_integer_value(json_object_get(set, "expires_at"));

        if (!json_object_get(set, "refresh_token")) {
                _cleanup_(secret_buf_freep) SecretBuf *old = NULL;
                if (vault_get(v, RECORD_TOKEN, req->plugin, req->user, &old, NULL) >= 0) {
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

/* Build, seal and store a set, and clear any lease or reauth state; inside
 * the caller's transaction. */
static int token_set_store(Vault *v, const Request *req, json_t *response, StoredRecord *ret_meta) {
        _cleanup_(secret_buf_freep) SecretBuf *text = NULL;
        json_t *set = NULL;
        int64_t expires_at;
        int r;

        r = token_set_build(v, req, response, &set, &expires_at);
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
        r = vault_put_locked(v, RECORD_TOKEN, req->plugin, req->user, text->data, text->size, expires_at, ret_meta);
        if (r < 0)
                return r;
        return store_token_reset(v->store, req->plugin, req->user);
}

/* The response fitted, but with the refresh token kept from the previous
 * set it no longer would. */
static int too_large(int r, Failure *f) {
        if (r == -EMSGSIZE)
                failure(f, "field 'token': over %d bytes as JSON with the previous refresh_token kept",
                        TOKEN_SET_SIZE_MAX);
        return r;
}

int handle_token_put(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        StoredRecord meta = {};
        (void) f;
        int r = store_begin(ctx->vault->store);
        if (r < 0)
                return r;
        r = token_set_store(ctx->vault, req, req->token, &meta);
        if (r >= 0)
                r = store_commit(ctx->vault->store);
        if (r < 0) {
                store_rollback(ctx->vault->store);
                return too_large(r, f);
        }
        reply_meta(reply, &meta);
        return 0;
}

/* The stored set as the reply's "token": it is JSON this daemon wrote and
 * the envelope authenticated, so it goes in as it is. */
static int reply_token(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        _cleanup_(secret_buf_freep) SecretBuf *text = NULL;
        StoredRecord meta = {};
        int r = vault_get(ctx->vault, RECORD_TOKEN, req->plugin, req->user, &text, &meta);
        if (r < 0)
                return not_found(r, f, "token set for user", req);
        json_out_raw(reply, "token", (const char *) text->data, text->size);
        reply_meta(reply, &meta);
        return 0;
}

/* A set is valid until expires_at (exclusive, as token.list counts it
 * expired from then on), and valid for `seconds` more if it stays so. */
static bool valid_for(const TokenState *st, int64_t seconds) {
        int64_t left = st->expires_at - (int64_t) time(NULL);
        return !st->has_expires_at || (left > 0 && left >= seconds);
}

int handle_token_get(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        TokenState st;
        int r = store_token_state_get(ctx->vault->store, req->plugin, req->user, &st);
        if (r < 0)
                return not_found(r, f, "token set for user", req);
        if (st.reauth_required)
                return reauth_required(f);
        if (!valid_for(&st, req->min_valid)) {
                int64_t now = now_ms();
                if (lease_active(&st, now))
                        return refresh_in_progress(f, &st, now);
                if (req->min_valid > 0)
                        failure(f, "the token set is not valid for %lld more seconds; refresh it",
                                (long long) req->min_valid);
                else
                        failure(f, "the token set has expired; refresh it");
                f->expires_at = st.expires_at;
                return -ESTALE;
        }
        return reply_token(ctx, req, reply, f);
}

int handle_token_delete(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        (void) reply;
        return not_found(vault_delete(ctx->vault, RECORD_TOKEN, req->plugin, req->user), f, "token set for user", req);
}

static const char *token_state_name(const TokenInfo *t, int64_t now, int64_t now_ms_, int64_t horizon) {
        if (t->reauth_required)
                return "reauth_required";
        if (t->lease_until > now_ms_)
                return "refreshing";
        if (t->has_expires_at && t->expires_at <= now)
                return "expired";
        if (t->has_expires_at && t->expires_at <= now + horizon)
                return "expiring";
        return "valid";
}

int handle_token_list(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        TokenInfo *items = NULL;
        size_t n = 0;
        int64_t now = time(NULL), nowms = now_ms();
        (void) f;

        int r = store_token_list(ctx->vault->store, req->plugin, req->after, req->limit + 1, &items, &n);
        if (r < 0)
                return r;
        json_out_open_array(reply, "tokens");
        for (size_t i = 0; i < n && i < req->limit; i++) {
                json_out_open_object(reply, NULL);
                json_out_cstring(reply, "user", items[i].user);
                json_out_int(reply, "version", items[i].version);
                json_out_int(reply, "created", items[i].created_at);
                json_out_int(reply, "updated", items[i].updated_at);
                if (items[i].has_expires_at)
                        json_out_int(reply, "expires_at", items[i].expires_at);
                json_out_cstring(reply, "state", token_state_name(&items[i], now, nowms, req->expiring));
                json_out_close_object(reply);
        }
        json_out_close_array(reply);
        if (n > req->limit)
                json_out_cstring(reply, "next", items[req->limit - 1].user);
        else
                json_out_null(reply, "next");
        token_infos_free(items, n);
        return 0;
}

static bool lease_matches(const TokenState *st, const char *lease) {
        return st->lease_id[0] && sodium_memcmp(st->lease_id, lease, LEASE_ID_SIZE) == 0;
}

int handle_token_refresh_begin(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        Store *store = ctx->vault->store;
        _cleanup_(secret_buf_freep) SecretBuf *text = NULL;
        char lease[LEASE_ID_SIZE + 1];
        uint8_t id[LEASE_ID_SIZE / 2];
        TokenState st;
        int r;

        r = store_begin(store);
        if (r < 0)
                return r;
        r = store_token_state_get(store, req->plugin, req->user, &st);
        if (r < 0) {
                r = not_found(r, f, "token set for user", req);
                goto rollback;
        }
        if (st.reauth_required) {
                r = reauth_required(f);
                goto rollback;
        }
        int64_t now = now_ms();
        if (st.has_expires_at && valid_for(&st, req->min_valid)) {
                /* Someone refreshed it meanwhile: here is the new one. */
                store_rollback(store);
                json_out_bool(reply, "refresh", false);
                return reply_token(ctx, req, reply, f);
        }
        if (lease_active(&st, now)) {
                r = refresh_in_progress(f, &st, now);
                goto rollback;
        }
        r = vault_get(ctx->vault, RECORD_TOKEN, req->plugin, req->user, &text, NULL);
        if (r < 0)
                goto rollback;
        json_t *set = json_loadb((const char *) text->data, text->size, 0, NULL);
        json_t *rt = json_object_get(set, "refresh_token");
        if (!json_is_string(rt)) {
                json_decref(set);
                r = reauth_required(f);
                goto rollback;
        }

        randombytes_buf(id, sizeof(id));
        sodium_bin2hex(lease, sizeof(lease), id, sizeof(id));
        int64_t until = now + req->lease_seconds * 1000;
        r = store_token_lease_set(store, req->plugin, req->user, lease, until, st.version);
        if (r >= 0)
                r = store_commit(store);
        if (r < 0) {
                json_decref(set);
                goto rollback;
        }
        json_out_bool(reply, "refresh", true);
        json_out_cstring(reply, "lease", lease);
        json_out_int(reply, "lease_until", until);
        json_out_string(reply, "refresh_token", json_string_value(rt), json_string_length(rt));
        json_out_int(reply, "version", st.version);
        json_decref(set);
        return 0;

rollback:
        store_rollback(store);
        return r;
}

int handle_token_refresh_commit(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        Store *store = ctx->vault->store;
        StoredRecord meta = {};
        TokenState st;
        int r;

        r = store_begin(store);
        if (r < 0)
                return r;
        r = store_token_state_get(store, req->plugin, req->user, &st);
        if (r < 0) {
                r = not_found(r, f, "token set for user", req);
                goto rollback;
        }
        /* Compare-and-swap: the lease is still ours (every refresh_begin
         * replaces the lease id, every put clears it) and the set is the one
         * it was taken on. A lease past its deadline that nobody took over
         * still commits: refusing it would drop a refresh token the
         * provider has already rotated. */
        if (!lease_matches(&st, req->lease) || st.version != st.lease_version) {
                failure(f, "the refresh lease was taken over or the token set replaced; get the token set again");
                r = -EEXIST;
                goto rollback;
        }
        r = token_set_store(ctx->vault, req, req->token, &meta);
        if (r >= 0)
                r = store_commit(store);
        if (r < 0) {
                r = too_large(r, f);
                goto rollback;
        }
        reply_meta(reply, &meta);
        return 0;

rollback:
        store_rollback(store);
        return r;
}

int handle_token_refresh_fail(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        Store *store = ctx->vault->store;
        TokenState st;
        int r;

        r = store_begin(store);
        if (r < 0)
                return r;
        r = store_token_state_get(store, req->plugin, req->user, &st);
        if (r < 0) {
                store_rollback(store);
                return not_found(r, f, "token set for user", req);
        }
        /* Only the holder of the current lease, on an unchanged set, speaks
         * for the refresh token: an invalid_grant from anyone else lost a
         * race against a rotation and revokes nothing. */
        if (!lease_matches(&st, req->lease) || st.version != st.lease_version) {
                store_rollback(store);
                json_out_bool(reply, "applied", false);
                json_out_cstring(reply, "state",
                                 st.reauth_required            ? "reauth_required"
                                 : lease_active(&st, now_ms()) ? "refreshing"
                                 : !valid_for(&st, 0)          ? "expired"
                                                               : "valid");
                return 0;
        }
        bool reauth = strcmp(req->oauth_error, "invalid_grant") == 0;
        r = store_token_release(store, req->plugin, req->user, reauth);
        if (r >= 0)
                r = store_commit(store);
        if (r < 0) {
                store_rollback(store);
                return r;
        }
        json_out_bool(reply, "applied", true);
        json_out_cstring(reply, "state", reauth ? "reauth_required" : "valid");
        return 0;
}
