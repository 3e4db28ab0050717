/* dispatch.c — the op table and the request cycle (see dispatch.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "dispatch.h"
#include "errors.h"
#include "log.h"

/* Every op, what it does. `reveals` marks the ops that hand out a value, for
 * the policy layer to gate; `writes` the ones that change the database. */
static const struct {
        Handler handler;
        bool writes;
        bool reveals;
} op_table[_OP_MAX] = {
        [OP_HEALTH] = { handle_health, false, false },
        [OP_SECRET_PUT] = { handle_secret_put, true, false },
        [OP_SECRET_GET] = { handle_secret_get, false, true },
        [OP_SECRET_LIST] = { handle_secret_list, false, false },
        [OP_SECRET_DELETE] = { handle_secret_delete, true, false },
        [OP_TOKEN_PUT] = { handle_token_put, true, false },
        [OP_TOKEN_GET] = { handle_token_get, false, true },
        [OP_TOKEN_LIST] = { handle_token_list, false, false },
        [OP_TOKEN_DELETE] = { handle_token_delete, true, false },
        [OP_TOKEN_REFRESH_BEGIN] = { handle_token_refresh_begin, true, true },
        [OP_TOKEN_REFRESH_COMMIT] = { handle_token_refresh_commit, true, false },
        [OP_TOKEN_REFRESH_FAIL] = { handle_token_refresh_fail, true, false },
        [OP_SECRET_GENERATE] = { handle_secret_generate, true, true },
        [OP_SECRET_VERIFY] = { handle_secret_verify, false, false },
        [OP_PLUGIN_REGISTER] = { handle_plugin_register, true, false },
        [OP_PLUGIN_LIST] = { handle_plugin_list, false, false },
        [OP_PLUGIN_GET] = { handle_plugin_get, false, false },
        [OP_PLUGIN_DELETE] = { handle_plugin_delete, true, false },
        [OP_MANIFEST_AUTH] = { handle_manifest_auth, false, true },
        [OP_OAUTH_VERIFY_CLIENT] = { handle_oauth_verify_client, false, false },
        [OP_APIKEY_PUT] = { handle_apikey_put, true, false },
        [OP_APIKEY_LOOKUP] = { handle_apikey_lookup, false, false },
        [OP_APIKEY_LIST] = { handle_apikey_list, false, false },
        [OP_APIKEY_DELETE] = { handle_apikey_delete, true, false },
};

int failure(Failure *f, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(f->message, sizeof(f->message), fmt, ap);
        va_end(ap);
        return 0;
}

/* Messages are cut to ERROR_MESSAGE_SIZE_MAX bytes, which may split a UTF-8
 * sequence of a user id they name: drop a trailing incomplete sequence, so
 * the reply stays valid JSON. */
static size_t utf8_trimmed_size(const char *s) {
        size_t n = strlen(s), start = n;
        while (start > 0 && ((unsigned char) s[start - 1] & 0xc0) == 0x80)
                start--;
        if (start == 0)
                return n;
        unsigned char lead = (unsigned char) s[start - 1];
        size_t need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
        return n - (start - 1) < need ? start - 1 : n;
}

/* Messages for errors a handler did not describe. Internal errors say no
 * more than that: their detail goes to the log, not to the client. */
static const char *default_message(int error) {
        switch (error) {
        case -ENOENT:
                return "not found";
        case -EUCLEAN:
                return "stored record failed authentication: the database was altered";
        case -EBUSY:
                return "database busy, try again";
        case -ENOMEM:
                return "out of memory";
        case -ENOSPC:
                return "disk full";
        default:
                return "internal error";
        }
}

void dispatch_error_reply(JsonOut *out, bool has_id, uint64_t id, int error, const Failure *f) {
        const char *message = f->message[0] ? f->message : default_message(error);

        json_out_reset(out);
        json_out_open_object(out, NULL);
        if (has_id)
                json_out_int(out, "id", (int64_t) id);
        else
                json_out_null(out, "id");
        json_out_bool(out, "ok", false);
        json_out_open_object(out, "error");
        json_out_cstring(out, "code", error_code_from_errno(error));
        json_out_string(out, "message", message, utf8_trimmed_size(message));
        if (f->retry_after_ms >= 0)
                json_out_int(out, "retry_after_ms", f->retry_after_ms);
        if (f->expires_at >= 0)
                json_out_int(out, "expires_at", f->expires_at);
        json_out_close_object(out);
        json_out_close_object(out);
}

void dispatch_frame(Context *ctx, const Peer *peer, uint8_t *body, size_t body_size, JsonOut *out) {
        Failure f = { .retry_after_ms = -1, .expires_at = -1 };
        Request req;
        int r;

        r = request_decode(body, body_size, &req, f.message, sizeof(f.message));
        if (r >= 0 && !op_table[req.op].handler)
                r = -EOPNOTSUPP;
        if (r >= 0) {
                json_out_open_object(out, NULL);
                json_out_int(out, "id", (int64_t) req.id);
                json_out_bool(out, "ok", true);
                r = op_table[req.op].handler(ctx, &req, out, &f);
                json_out_close_object(out);
                if (r >= 0 && json_out_finish(out) < 0) {
                        /* Limits in proto-limits.h keep every reply in a
                         * frame; if one still does not fit, say so. */
                        log_error("%s: reply does not fit a frame", op_to_string(req.op));
                        r = -EIO;
                }
        }
        if (r < 0) {
                if (r != -EBADMSG && r != -EOPNOTSUPP && r != -EMSGSIZE && r != -ENOENT && r != -EINVAL &&
                    r != -EEXIST && r != -ESTALE && r != -EKEYREVOKED && r != -EALREADY)
                        log_error("%s failed: %s", op_to_string(req.op) ?: "request", strerror(-r));
                dispatch_error_reply(out, req.has_id, req.id, r, &f);
        }
        audit_record(peer, &req, r, r < 0 || (req.op < _OP_MAX && op_table[req.op].writes));
        request_done(&req);
}
