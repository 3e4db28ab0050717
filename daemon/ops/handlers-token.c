/* handlers-token.c — users' OAuth token sets and their refresh: checked
 * Request in, one vault call, reply members out.
 *
 * What a token set is and how the refresh lease works is the vault's
 * (vault-token.c); here is only how its answers read to a client: the
 * messages, the retry hint and the deadline a refresh_required names. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "dispatch.h"
#include "handlers.h"
#include "time-util.h"

/* A waiting caller is told to come back after this long at most, even if
 * the lease runs longer: most refreshes take well under a second. */
#define RETRY_AFTER_MAX_MS 1000

static int64_t retry_after(const TokenState *st, int64_t now) {
        int64_t left = st->lease_until - now;
        return left < RETRY_AFTER_MAX_MS ? (left > 0 ? left : 1) : RETRY_AFTER_MAX_MS;
}

static int refresh_in_progress(Failure *f, const TokenState *st) {
        failure_set(f, "another caller is refreshing this token set; retry shortly");
        f->retry_after_ms = retry_after(st, time_realtime_ms());
        return -EALREADY;
}

static int reauth_required(Failure *f) {
        failure_set(f, "the user must authorize again (refresh token rejected or missing)");
        return -EKEYREVOKED;
}

/* The response fitted (proto checked it against TOKEN_RESPONSE_SIZE_MAX),
 * but the set stored from it would not. TOKEN_SET_SIZE_MAX has room for
 * expires_in written as expires_at, so only a refresh token carried over
 * from the previous set can do that, and only to a response without one of
 * its own: the message names it only then. */
static int too_large(int r, const Request *req, Failure *f) {
        if (r != -EMSGSIZE)
                return r;
        if (json_object_get(req->token, "refresh_token"))
                failure_set(f, "field 'token': over %d bytes as stored JSON", TOKEN_SET_SIZE_MAX);
        else
                failure_set(f, "field 'token': over %d bytes as stored JSON with the previous refresh_token kept",
                            TOKEN_SET_SIZE_MAX);
        return r;
}

/* The stored set as the reply's "token": it is JSON this daemon wrote and
 * the envelope authenticated, so it goes in as it is. */
static void reply_token(JsonOut *reply, const SecretBuf *text, const StoredRecord *meta) {
        json_out_raw(reply, "token", (const char *) text->data, text->size);
        handlers_reply_meta(reply, meta);
}

int handle_token_put(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        StoredRecord meta = {};
        int r = vault_token_put(ctx->vault, req->plugin, req->user, req->token, &meta);
        if (r < 0)
                return too_large(r, req, f);
        handlers_reply_meta(reply, &meta);
        return 0;
}

int handle_token_get(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        _cleanup_(secret_buf_freep) SecretBuf *text = NULL;
        StoredRecord meta = {};
        TokenState st;
        int r;

        r = vault_token_get(ctx->vault, req->plugin, req->user, req->min_valid, &text, &meta, &st);
        switch (r) {
        case -EKEYREVOKED:
                return reauth_required(f);
        case -EALREADY:
                return refresh_in_progress(f, &st);
        case -ESTALE:
                if (req->min_valid > 0)
                        failure_set(f, "the token set is not valid for %lld more seconds; refresh it",
                                    (long long) req->min_valid);
                else
                        failure_set(f, "the token set has expired; refresh it");
                f->expires_at = st.expires_at;
                return r;
        }
        if (r < 0)
                return handlers_not_found(r, f, "token set for user", req);
        reply_token(reply, text, &meta);
        return 0;
}

int handle_token_delete(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        return handlers_not_found(handlers_token_delete(ctx, req, reply), f, "token set for user", req);
}

/* A set's "refresh": when it was last tried and what came of it (noted by
 * refresh_begin, _commit and _fail, whoever called them), and when the
 * plugin's refresher says it will try next. Absent if there is none of
 * the three. */
static void reply_refresh(JsonOut *reply, const TokenInfo *t, const RefresherReportEntry *report, int64_t now_ms) {
        int64_t next = refresher_report_next_at(report, t, now_ms);
        if (!t->refresh_tried_at && !t->refresh_result[0] && !next)
                return;
        json_out_open_object(reply, "refresh");
        if (t->refresh_tried_at)
                json_out_int(reply, "tried_at", t->refresh_tried_at);
        if (t->refresh_result[0])
                json_out_cstring(reply, "result", t->refresh_result);
        if (next)
                json_out_int(reply, "next_at", next);
        json_out_close_object(reply);
}

int handle_token_list(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        const RefresherReportEntry *report = refresher_reports_get(&ctx->refresher_reports, req->plugin);
        TokenInfo *items = NULL;
        size_t n = 0;
        int64_t now = time(NULL), now_ms = time_realtime_ms();
        (void) f;

        /* One extra row says whether another page follows. */
        int r = vault_token_list(ctx->vault, req->plugin, req->after, req->limit + 1, &items, &n);
        if (r < 0)
                return r;
        json_out_open_array(reply, "tokens");
        for (size_t i = 0; i < n && i < req->limit; i++) {
                json_out_open_object(reply, NULL);
                json_out_cstring(reply, "user", items[i].user);
                json_out_int(reply, "version", items[i].state.version);
                json_out_int(reply, "created", items[i].created_at);
                json_out_int(reply, "updated", items[i].updated_at);
                if (items[i].state.has_expires_at)
                        json_out_int(reply, "expires_at", items[i].state.expires_at);
                json_out_cstring(reply, "state", vault_token_state_name(&items[i], now, now_ms, req->expiring));
                reply_refresh(reply, &items[i], report, now_ms);
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

int handle_token_refresh_begin(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        _cleanup_(vault_token_refresh_done) TokenRefresh t = {};
        TokenState st;
        int r;

        r = vault_token_refresh_begin(ctx->vault, req->plugin, req->user, req->min_valid, req->lease_seconds, &t, &st);
        if (r == -EKEYREVOKED)
                return reauth_required(f);
        if (r == -EALREADY)
                return refresh_in_progress(f, &st);
        if (r < 0)
                return handlers_not_found(r, f, "token set for user", req);
        if (!t.refresh) {
                /* Someone refreshed it meanwhile: here is the new one. */
                json_out_bool(reply, "refresh", false);
                reply_token(reply, t.text, &t.meta);
                return 0;
        }
        json_out_bool(reply, "refresh", true);
        json_out_cstring(reply, "lease", t.lease);
        json_out_int(reply, "lease_until", t.lease_until);
        json_out_string(reply, "refresh_token", (const char *) t.refresh_token->data, t.refresh_token->size);
        json_out_int(reply, "version", t.version);
        return 0;
}

int handle_token_refresh_commit(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        StoredRecord meta = {};
        int r;

        r = vault_token_refresh_commit(ctx->vault, req->plugin, req->user, req->lease, req->token, &meta);
        if (r == -EEXIST) {
                failure_set(f, "the refresh lease was taken over or the token set replaced; get the token set again");
                return r;
        }
        if (r < 0)
                return too_large(handlers_not_found(r, f, "token set for user", req), req, f);
        handlers_reply_meta(reply, &meta);
        return 0;
}

int handle_token_refresh_fail(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        TokenRefreshFail result;
        int r;

        r = vault_token_refresh_fail(ctx->vault, req->plugin, req->user, req->lease, req->oauth_error, req->retry_at,
                                     &result);
        if (r < 0)
                return handlers_not_found(r, f, "token set for user", req);
        json_out_bool(reply, "applied", result.applied);
        json_out_cstring(reply, "state", result.state);
        return 0;
}
