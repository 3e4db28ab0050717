/* dispatch.c — the op table and the request cycle (see dispatch.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "dispatch.h"
#include "errors.h"
#include "log.h"
#include "utf8.h"

/* The handler of each op; what the op is (writes, reveals a value, needs
 * admin) is proto's op table (op_flags()). */
static const Handler handlers[_OP_MAX] = {
        [OP_HEALTH] = handle_health,
        [OP_SECRET_PUT] = handle_secret_put,
        [OP_SECRET_GET] = handle_secret_get,
        [OP_SECRET_LIST] = handle_secret_list,
        [OP_SECRET_DELETE] = handle_secret_delete,
        [OP_TOKEN_PUT] = handle_token_put,
        [OP_TOKEN_GET] = handle_token_get,
        [OP_TOKEN_LIST] = handle_token_list,
        [OP_TOKEN_DELETE] = handle_token_delete,
        [OP_TOKEN_REFRESH_BEGIN] = handle_token_refresh_begin,
        [OP_TOKEN_REFRESH_COMMIT] = handle_token_refresh_commit,
        [OP_TOKEN_REFRESH_FAIL] = handle_token_refresh_fail,
        [OP_SECRET_GENERATE] = handle_secret_generate,
        [OP_SECRET_VERIFY] = handle_secret_verify,
        [OP_PLUGIN_REGISTER] = handle_plugin_register,
        [OP_PLUGIN_LIST] = handle_plugin_list,
        [OP_PLUGIN_GET] = handle_plugin_get,
        [OP_PLUGIN_DELETE] = handle_plugin_delete,
        [OP_MANIFEST_AUTH] = handle_manifest_auth,
        [OP_OAUTH_VERIFY_CLIENT] = handle_oauth_verify_client,
        [OP_APIKEY_PUT] = handle_apikey_put,
        [OP_APIKEY_LOOKUP] = handle_apikey_lookup,
        [OP_APIKEY_LIST] = handle_apikey_list,
        [OP_APIKEY_DELETE] = handle_apikey_delete,
};

int failure_set(Failure *f, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(f->message, sizeof(f->message), fmt, ap);
        va_end(ap);
        return 0;
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

static void error_reply(JsonOut *out, bool has_id, uint64_t id, int error, const Failure *f) {
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
        /* Messages are cut to ERROR_MESSAGE_SIZE_MAX bytes, which may split
         * a character of a user id they name: the reply must stay valid
         * UTF-8, or no JSON parser reads it. */
        json_out_string(out, "message", message, utf8_prefix_size(message, ERROR_MESSAGE_SIZE_MAX - 1));
        if (f->retry_after_ms >= 0)
                json_out_int(out, "retry_after_ms", f->retry_after_ms);
        if (f->expires_at >= 0)
                json_out_int(out, "expires_at", f->expires_at);
        json_out_close_object(out);
        json_out_close_object(out);
        /* Error replies are small: a message is at most
         * ERROR_MESSAGE_SIZE_MAX bytes. */
        (void) json_out_finish(out);
}

void dispatch_frame(Context *ctx, const Peer *peer, uint8_t *body, size_t body_size, JsonOut *out) {
        Failure f = { .retry_after_ms = -1, .expires_at = -1 };
        Request req;
        int r;

        r = request_decode(body, body_size, &req, f.message, sizeof(f.message));
        if (r >= 0 && !handlers[req.op])
                r = -EOPNOTSUPP;
        if (r >= 0) {
                json_out_open_object(out, NULL);
                json_out_int(out, "id", (int64_t) req.id);
                json_out_bool(out, "ok", true);
                r = handlers[req.op](ctx, &req, out, &f);
                json_out_close_object(out);
                if (r >= 0 && json_out_finish(out) < 0) {
                        /* Limits in proto-limits.h keep every reply in a
                         * frame; if one still does not fit, say so. */
                        log_error("%s: reply does not fit a frame", op_to_string(req.op));
                        failure_set(&f, "reply too large");
                        r = -EIO;
                }
        }
        if (r < 0) {
                if (r != -EBADMSG && r != -EOPNOTSUPP && r != -EMSGSIZE && r != -ENOENT && r != -EINVAL &&
                    r != -EEXIST && r != -ESTALE && r != -EKEYREVOKED && r != -EALREADY && r != -ENODATA)
                        log_error("%s failed: %s", op_to_string(req.op) ?: "request", strerror(-r));
                error_reply(out, req.has_id, req.id, r, &f);
        }
        unsigned flags = req.op < _OP_MAX ? op_flags(req.op) : 0;
        audit_record(peer, &req, r, r < 0 || (flags & OP_WRITES), r >= 0 && (flags & OP_REVEALS));
        request_done(&req);
}

void dispatch_frame_error(Context *ctx, const Peer *peer, int error, JsonOut *out) {
        Failure f = { .retry_after_ms = -1, .expires_at = -1 };
        Request req = { .op = _OP_MAX };

        (void) ctx;
        if (error == -EMSGSIZE)
                failure_set(&f, "frame length over %d bytes", FRAME_BODY_MAX);
        else
                failure_set(&f, "empty frame");
        error_reply(out, false, 0, error, &f);
        audit_record(peer, &req, error, true, false);
}

void dispatch_refuse(Context *ctx, const Peer *peer, JsonOut *out) {
        Failure f = { .retry_after_ms = -1, .expires_at = -1 };

        (void) ctx;
        failure_set(&f, "too many connections");
        error_reply(out, false, 0, -ESHUTDOWN, &f);
        audit_connection_refused(peer, "too many connections");
}
