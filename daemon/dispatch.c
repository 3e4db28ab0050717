/* dispatch.c — the op table and the request cycle (see dispatch.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "dispatch.h"
#include "errors.h"
#include "proto-limits.h"
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
};

/* Messages are cut to ERROR_MESSAGE_SIZE_MAX bytes, which may split a UTF-8
 * sequence of a user id they name; jansson refuses invalid UTF-8, so drop a
 * trailing incomplete sequence. */
static void utf8_trim(char *s) {
        size_t n = strlen(s), start = n;
        while (start > 0 && ((unsigned char) s[start - 1] & 0xc0) == 0x80)
                start--;
        if (start == 0)
                return;
        unsigned char lead = (unsigned char) s[start - 1];
        size_t need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
        if (n - (start - 1) < need)
                s[start - 1] = '\0';
}

json_t *dispatch_error_reply(bool has_id, uint64_t id, int error, const char *message) {
        char text[ERROR_MESSAGE_SIZE_MAX];
        snprintf(text, sizeof(text), "%s", message);
        utf8_trim(text);
        return json_pack("{s:o s:b s:{s:s s:s}}", "id", has_id ? json_integer((json_int_t) id) : json_null(), "ok",
                         0, "error", "code", error_code_from_errno(error), "message", text);
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

json_t *dispatch_frame(Context *ctx, const Peer *peer, const uint8_t *body, size_t body_size) {
        char errbuf[ERROR_MESSAGE_SIZE_MAX] = "";
        Request req;
        json_t *reply = NULL;
        int r;

        r = request_decode(body, body_size, &req, errbuf, sizeof(errbuf));
        if (r >= 0) {
                reply = json_pack("{s:I s:b}", "id", (json_int_t) req.id, "ok", 1);
                if (!reply)
                        r = -ENOMEM;
                else if (!op_table[req.op].handler)
                        r = -EOPNOTSUPP;
                else
                        r = op_table[req.op].handler(ctx, &req, reply, errbuf, sizeof(errbuf));
        }
        if (r < 0) {
                if (r != -EBADMSG && r != -EOPNOTSUPP && r != -EMSGSIZE && r != -ENOENT && r != -EINVAL)
                        log_error("%s failed: %s", op_to_string(req.op) ?: "request",
                                  strerror(-r));
                json_decref(reply);
                reply = dispatch_error_reply(req.has_id, req.id, r, errbuf[0] ? errbuf : default_message(r));
        }
        audit_record(peer, &req, r);
        request_done(&req);
        return reply;
}
