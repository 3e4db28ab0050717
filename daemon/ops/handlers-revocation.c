/* handlers-revocation.c — deleted token sets pending revocation at their
 * provider (RFC 7009): token.delete's queueing, the refresher's three ops
 * (token.revocation_list, _begin, _end) and health's count.
 *
 * What is queued, when a revocation is retried or given up, is the
 * vault's (vault-revocation.c); here is only how its answers read to a
 * client, and the audit record of a revocation given up, which names the
 * caller that reported the last failure. Never: a token in a list, a
 * message or the log. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dispatch.h"
#include "handlers.h"
#include "log.h"
#include "time-util.h"

/* The caller as the audit trail names it, for the records the vault
 * writes of its own (a revocation given up). */
static void audit_template(const Context *ctx, const Request *req, AuditEntry *ret) {
        *ret = (AuditEntry) { .time_usec = time_realtime_ms() * 1000 };
        if (ctx->peer) {
                ret->uid = ctx->peer->uid;
                ret->gid = ctx->peer->gid;
                ret->pid = ctx->peer->pid;
                snprintf(ret->unit, sizeof(ret->unit), "%s", ctx->peer->unit ?: "");
        }
        snprintf(ret->plugin, sizeof(ret->plugin), "%s", req->plugin ?: "");
}

static int not_found(int r, Failure *f, const Request *req) {
        if (r == -ENOENT)
                failure_set(f, "no pending revocation %" PRId64 " for plugin '%s'", req->revocation, req->plugin);
        return r;
}

int handlers_token_delete(Context *ctx, const Request *req, JsonOut *reply) {
        AuditEntry tmpl;
        bool pending = false;

        audit_template(ctx, req, &tmpl);
        int r = vault_token_delete_revoking(ctx->vault, req->plugin, req->user, &tmpl, &pending);
        if (r < 0)
                return r;
        if (pending)
                json_out_cstring(reply, "revocation", "pending");
        return 0;
}

int handlers_reply_revocations(Context *ctx, JsonOut *reply) {
        RevocationStats st;
        int r = vault_revocation_stats(ctx->vault, &st);
        if (r < 0)
                return r;
        json_out_open_object(reply, "revocations");
        json_out_int(reply, "pending", st.pending);
        json_out_int(reply, "given_up", st.given_up);
        if (st.next_at > 0)
                json_out_int(reply, "next_at", st.next_at);
        json_out_close_object(reply);
        return 0;
}

/* A list cursor is the last id of the previous page, in decimal. */
static int cursor_parse(const char *after, int64_t *ret) {
        char *end = NULL;
        *ret = 0;
        if (!after)
                return 0;
        if (!*after || strspn(after, "0123456789") != strlen(after) || strlen(after) > 18)
                return -EBADMSG;
        *ret = strtoll(after, &end, 10);
        return 0;
}

int handle_token_revocation_list(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        StoredRevocation *items = NULL;
        size_t n = 0;
        int64_t after;

        if (cursor_parse(req->after, &after) < 0) {
                failure_set(f, "field 'after': a revocation id in decimal (the previous page's \"next\")");
                return -EBADMSG;
        }
        /* One extra row says whether another page follows. */
        int r = vault_revocation_list(ctx->vault, req->plugin, after, req->limit + 1, &items, &n);
        if (r < 0)
                return r;
        json_out_open_array(reply, "revocations");
        for (size_t i = 0; i < n && i < req->limit; i++) {
                json_out_open_object(reply, NULL);
                json_out_int(reply, "id", items[i].id);
                json_out_cstring(reply, "user", items[i].user);
                json_out_int(reply, "deleted_at", items[i].deleted_at);
                json_out_int(reply, "attempts", items[i].attempts);
                json_out_int(reply, "next_at", items[i].next_at);
                if (items[i].last_error)
                        json_out_cstring(reply, "last_error", items[i].last_error);
                json_out_close_object(reply);
        }
        json_out_close_array(reply);
        if (n > req->limit) {
                char next[24];
                snprintf(next, sizeof(next), "%" PRId64, items[req->limit - 1].id);
                json_out_cstring(reply, "next", next);
        } else
                json_out_null(reply, "next");
        stored_revocations_free(items, n);
        return 0;
}

int handle_token_revocation_begin(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        _cleanup_(secret_buf_freep) SecretBuf *token = NULL;
        _cleanup_(freep) char *user = NULL;
        const char *hint = NULL;
        int64_t retry_ms = 0;
        AuditEntry tmpl;

        audit_template(ctx, req, &tmpl);
        int r = vault_revocation_begin(ctx->vault, req->plugin, req->revocation, &tmpl, &token, &hint, &user,
                                       &retry_ms);
        if (r == -EALREADY) {
                failure_set(f, "pending revocation %" PRId64 " is not due yet (being revoked, or backing off)",
                            req->revocation);
                f->retry_after_ms = retry_ms;
                return r;
        }
        if (r == -ENODATA) {
                /* token.put requires an access_token: not a set this vault wrote. */
                failure_set(f, "pending revocation %" PRId64 " holds no token to revoke", req->revocation);
                return -EUCLEAN;
        }
        if (r < 0)
                return not_found(r, f, req);
        json_out_cstring(reply, "user", user);
        json_out_string(reply, "token", (const char *) token->data, token->size);
        json_out_cstring(reply, "token_type_hint", hint);
        return 0;
}

int handle_token_revocation_end(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        RevocationEnd end = {};
        AuditEntry tmpl;

        audit_template(ctx, req, &tmpl);
        int r = vault_revocation_end(ctx->vault, req->plugin, req->revocation, req->oauth_error, &tmpl, &end);
        if (r < 0)
                return not_found(r, f, req);
        json_out_cstring(reply, "state", end.state);
        json_out_cstring(reply, "user", end.user);
        json_out_int(reply, "attempts", end.attempts);
        if (end.next_at > 0)
                json_out_int(reply, "next_at", end.next_at);
        if (strcmp(end.state, "given_up") == 0)
                log_info("revocation of the deleted token set of user '%s' of plugin '%s' given up after %" PRId64
                         " attempts (last error %s)",
                         end.user, req->plugin, end.attempts, req->oauth_error);
        free(end.user);
        return 0;
}
