/* dispatch.c — the handler table and the request cycle (see dispatch.h).
 *
 * One request: decode; admit (the audit trail can take its record, the
 * policy allows the op on the plugin, the principal's bucket has a
 * token), all decided before the vault is touched, so a refusal never
 * depends on what is stored; stage the record of a write so that it
 * commits with the write; run the handler; record the result (the table,
 * then the journal or stderr). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "dispatch-internal.h"
#include "errors.h"
#include "handlers.h"
#include "log.h"
#include "rates.h"
#include "time-util.h"
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
        [OP_WHOAMI] = handle_whoami,
        [OP_AUDIT_LIST] = handle_audit_list,
        [OP_AUDIT_VERIFY] = handle_audit_verify,
        [OP_AUDIT_PRUNE] = handle_audit_prune,
        [OP_KEY_ROTATE] = handle_key_rotate,
        [OP_KEY_REWRAP] = handle_key_rewrap,
        [OP_KEY_STATUS] = handle_key_status,
        [OP_KEY_RETIRE] = handle_key_retire,
        [OP_KEY_ROTATE_ROOT] = handle_key_rotate_root,
        [OP_KEY_RECOVERY] = handle_key_recovery,
        [OP_SECRET_ROTATE] = handle_secret_rotate,
        [OP_SECRET_PROMOTE] = handle_secret_promote,
        [OP_SECRET_HISTORY] = handle_secret_history,
        [OP_BACKUP] = handle_backup,
        [OP_REFRESHER_REPORT] = handle_refresher_report,
        [OP_TOKEN_REVOCATION_LIST] = handle_token_revocation_list,
        [OP_TOKEN_REVOCATION_BEGIN] = handle_token_revocation_begin,
        [OP_TOKEN_REVOCATION_END] = handle_token_revocation_end,
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

void dispatch_done(Context *ctx) {
        dispatch_group_end(ctx);
        free(ctx->group.held);
        ctx->group.held = NULL;
        if (ctx->deferred.work) {
                /* The daemon is stopping: the request's work goes, and
                 * its record with the rest. */
                dispatch_deferred_cancel(ctx, ctx->deferred.tag);
                if (ctx->vault)
                        (void) vault_audit_flush(ctx->vault);
        }
        if (ctx->vault) {
                /* The last flush was tried before this (server.c); what is
                 * still queued is lost, and said so with its number. */
                VaultAuditStatus st;
                vault_audit_status(ctx->vault, &st);
                if (st.queued > 0)
                        log_error("audit trail: %zu record%s could not be written and %s lost; the journal or "
                                  "stderr has %s",
                                  st.queued, st.queued == 1 ? "" : "s", st.queued == 1 ? "is" : "are",
                                  st.queued == 1 ? "its copy" : "their copies");
        }
        policy_free(ctx->policy);
        ctx->policy = NULL;
        rates_free(ctx->rates);
        ctx->rates = NULL;
        refresher_reports_done(&ctx->refresher_reports);
}

static void flush_refused(RateState *rs, void *userdata);

void dispatch_flush(Context *ctx) {
        /* The batch cannot be written inside a group, and the group's own
         * commit is due as soon as no request waits: the next tick
         * flushes. Not a reason to cut the group short. */
        if (dispatch_group_open(ctx))
                return;
        /* Principals that were refused for their rate and did not come
         * back: their count is recorded now. */
        if (ctx->vault)
                rates_foreach(ctx->rates, flush_refused, ctx);
        if (ctx->vault) {
                /* Tried every flush (the disk may have room again), said
                 * once and then rarely: a full disk must not also fill the
                 * journal with four lines a second. */
                int r = vault_audit_flush(ctx->vault);
                bool log = false;
                unsigned unlogged = 0;
                if (r < 0)
                        (void) backoff_failed(&ctx->audit_log, time_monotonic_usec(), &log, &unlogged);
                if (log && unlogged > 0)
                        log_error("audit trail: records cannot be written: %s (%u more failures since the last "
                                  "message)",
                                  strerror(-r), unlogged);
                else if (log)
                        log_error("audit trail: records cannot be written: %s", strerror(-r));
                else if (r >= 0 && backoff_succeeded(&ctx->audit_log) > 0)
                        log_info("audit trail: records are written again");
        }
        audit_flush();
}

/* ---- one request ---- */

/* A bounded copy: the entry's fields have their own limits, and a field
 * cut short is still a record. */
void dispatch_entry_set(char *dst, size_t size, const char *src) {
        size_t n = src ? strnlen(src, size - 1) : 0;
        memcpy(dst, src ?: "", n);
        dst[n] = '\0';
}

/* The record of a request (or of what is known of it: op may be
 * "frame" or "connect"), without its result yet. */
static void entry_init(AuditEntry *e, const Peer *peer, const char *op, const char *plugin, const char *object) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        e->seq = 0;
        e->time_usec = (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
        e->uid = peer->uid;
        e->gid = peer->gid;
        e->pid = peer->pid;
        e->revealed = false;
        dispatch_entry_set(e->unit, sizeof(e->unit), peer->unit);
        dispatch_entry_set(e->op, sizeof(e->op), op);
        dispatch_entry_set(e->plugin, sizeof(e->plugin), plugin);
        dispatch_entry_set(e->object, sizeof(e->object), object);
        dispatch_entry_set(e->result, sizeof(e->result), "ok");
        e->mac = (RecordMac) {};
}

void dispatch_entry_result(AuditEntry *e, int result, bool revealed) {
        dispatch_entry_set(e->result, sizeof(e->result), result >= 0 ? "ok" : error_code_from_errno(result));
        e->revealed = revealed;
}

/* Whether the op's success hands out a value: secret.rotate only when
 * the vault generated it (a value the caller gave is not revealed). */
static bool reveals(const Request *req, unsigned flags) {
        return (flags & OP_REVEALS) && !(req->op == OP_SECRET_ROTATE && req->value);
}

/* The refusal of a request whose record cannot be written. */
static int audit_refusal(Context *ctx, Failure *f) {
        char buf[HANDLERS_AUDIT_ERROR_SIZE];
        VaultAuditStatus st;
        vault_audit_status(ctx->vault, &st);
        failure_set(f, "audit trail cannot be written: %s", handlers_audit_error_text(&st, buf, sizeof(buf)));
        return -ESHUTDOWN;
}

/* The most a caller no policy entry names gets: enough for health and
 * whoami, all it may do, and few records a second if it floods. */
#define STRANGER_RATE 10
#define STRANGER_BURST 20

/* How often a failing audit trail is tried again by a request. */
#define AUDIT_RETRY_USEC (100 * 1000ULL)

/* The plugin a request acts on, as the policy sees it: plugin.register
 * may name it only in its manifest; NULL for an op over every plugin. */
static const char *request_plugin(const Request *req) {
        if (req->plugin)
                return req->plugin;
        if (req->op == OP_PLUGIN_REGISTER)
                return req->manifest_name;
        return NULL;
}

/* Requests that answer while the audit trail cannot take records: what
 * shows why (health, whoami) and what an admin needs to mend it (audit
 * list, verify, prune: pruning may be what frees the space). None
 * reveals a stored value. */
static bool answers_while_failing(Op op) {
        return op_class(op) == OP_CLASS_PUBLIC || op == OP_AUDIT_LIST || op == OP_AUDIT_VERIFY || op == OP_AUDIT_PRUNE;
}

static bool audit_failing(Context *ctx) {
        VaultAuditStatus st;
        vault_audit_status(ctx->vault, &st);
        return st.failing;
}

/* Fail closed: while records cannot be written, nothing is done that
 * would need one. A flush is tried first, at most every AUDIT_RETRY_USEC
 * (a client that keeps asking must not turn each of its requests into a
 * write that fails): the disk may have room again. */
static int audit_gate(Context *ctx, Op op, Failure *f) {
        VaultAuditStatus st;

        vault_audit_status(ctx->vault, &st);
        if (!st.failing || answers_while_failing(op))
                return 0;
        uint64_t now = time_monotonic_usec();
        if (now >= ctx->audit_retry_usec) {
                ctx->audit_retry_usec = now + AUDIT_RETRY_USEC;
                if (vault_audit_flush(ctx->vault) >= 0)
                        return 0;
        }
        return audit_refusal(ctx, f);
}

/* Take one of the principal's tokens: every request counts, the ones
 * that are refused or malformed too, since each leaves a record. Admins
 * no entry names (root, the daemon's uid by default) are not limited:
 * they run the vault. Callers no entry names can do nothing but health
 * and whoami, so they get at most STRANGER_RATE. *ret_state is the
 * principal's state (NULL for an admin). */
static int rate_take(Context *ctx, const Peer *peer, uint64_t principal, bool admin, Failure *f,
                     RateState **ret_state) {
        int entry = (principal & RATES_KEY_ENTRY) ? (int) (uint32_t) principal : -1;

        *ret_state = NULL;
        if (entry < 0 && admin)
                return 0;
        PolicyRateLimit limit = policy_rate_limit(ctx->policy, entry);
        if (entry < 0) {
                if (limit.rate > STRANGER_RATE)
                        limit.rate = STRANGER_RATE;
                if (limit.burst > STRANGER_BURST)
                        limit.burst = STRANGER_BURST;
        }
        uint64_t now = time_monotonic_usec(), retry_ms;
        RateState *st = rates_state(ctx->rates, principal, limit, now);
        if (!st)
                return -ENOMEM;
        *ret_state = st;
        if (policy_rate_take(&st->bucket, limit, now, &retry_ms) >= 0)
                return 0;
        const char *name = policy_principal_name(ctx->policy, entry);
        if (name)
                failure_set(f, "rate limit of %s: %" PRIu32 " requests a second", name, limit.rate);
        else
                failure_set(f, "rate limit of uid %u: %" PRIu32 " requests a second", (unsigned) peer->uid, limit.rate);
        f->retry_after_ms = (int64_t) retry_ms;
        if (st->refused++ == 0) {
                st->uid = peer->uid;
                st->gid = peer->gid;
                st->pid = peer->pid;
                dispatch_entry_set(st->unit, sizeof(st->unit), peer->unit);
        }
        return -EBUSY;
}

/* The policy's answer, as the error the client gets. */
static int policy_refusal(PolicyDecision d, const char *plugin, Failure *f) {
        const char *cls = policy_class_to_string(d.op_class) ?: "this op";
        if (plugin)
                failure_set(f, "denied: %s on plugin '%s'", cls, plugin);
        else
                failure_set(f, "denied: %s on every plugin", cls);
        return -EPERM;
}

/* The record of a principal's refusals that were counted, not recorded
 * one by one; e says who and when. */
static void record_refused(Context *ctx, RateState *rs, const AuditEntry *who) {
        AuditEntry sum = *who;
        char n[48];

        snprintf(n, sizeof(n), "%" PRIu64 " more requests refused", rs->refused - 1);
        dispatch_entry_set(sum.op, sizeof(sum.op), "rate_limited");
        dispatch_entry_set(sum.plugin, sizeof(sum.plugin), "");
        dispatch_entry_set(sum.object, sizeof(sum.object), n);
        dispatch_entry_result(&sum, -EBUSY, false);
        (void) vault_audit_add(ctx->vault, &sum);
        audit_record(&sum, true, false);
        rs->refused = 0;
}

static void flush_refused(RateState *rs, void *userdata) {
        Context *ctx = userdata;
        if (rs->refused <= 1) {
                rs->refused = 0;
                return;
        }
        Peer who = { .uid = rs->uid, .gid = rs->gid, .pid = rs->pid, .unit = rs->unit[0] ? rs->unit : NULL };
        AuditEntry e;
        entry_init(&e, &who, "rate_limited", NULL, NULL);
        record_refused(ctx, rs, &e);
}

/* A record for the table and the journal, unless it is one more refusal
 * of a principal over its rate: the first of a run is recorded, the rest
 * are counted and said in one record when the principal is next served
 * (or at the next flush), so that a flood costs the disk one record per
 * token, not one per request. Returns vault_audit_add()'s answer. */
static int record_table(Context *ctx, RateState *rs, int result, AuditEntry *e) {
        if (rs && result == -EBUSY && rs->refused > 1)
                return 1;
        if (rs && result != -EBUSY && rs->refused > 0) {
                if (rs->refused > 1)
                        record_refused(ctx, rs, e);
                rs->refused = 0;
        }
        return vault_audit_add(ctx->vault, e);
}

int dispatch_record(Context *ctx, RateState *rs, int result, AuditEntry *e, bool flush_now, bool reserved) {
        int q = record_table(ctx, rs, result, e);
        if (q > 0)
                return 0;
        audit_record(e, flush_now, reserved);
        return q;
}

/* Errors that are the client's, or the state of what it asked for: not
 * worth the daemon's log. */
bool dispatch_error_is_expected(int r) {
        switch (r) {
        case -EBADMSG:
        case -EOPNOTSUPP:
        case -EMSGSIZE:
        case -ENOENT:
        case -EINVAL:
        case -EEXIST:
        case -ESTALE:
        case -EKEYREVOKED:
        case -EALREADY:
        case -ENODATA:
        case -EPERM:
        case -EBUSY:
        case -ESHUTDOWN:
                return true;
        default:
                return false;
        }
}

void dispatch_frame(Context *ctx, const Peer *peer, uint64_t principal, uint8_t *body, size_t body_size, JsonOut *out) {
        (void) dispatch_frame_fd(ctx, peer, principal, body, body_size, -1, NULL, out);
}

int dispatch_frame_fd(Context *ctx, const Peer *peer, uint64_t principal, uint8_t *body, size_t body_size, int fd,
                      void *tag, JsonOut *out) {
        Failure f = { .retry_after_ms = -1, .expires_at = -1 };
        bool deferred = false;
        RateState *rs = NULL;
        AuditEntry e;
        Request req;
        int r;

        r = request_decode(body, body_size, &req, f.message, sizeof(f.message));
        /* What cannot join the open group ends it first; so does a
         * failing audit trail, whose flush (audit_gate()) cannot run
         * inside a group. */
        bool joins = r >= 0 && dispatch_group_joins(ctx, req.op, tag);
        if (dispatch_group_open(ctx) && (!joins || audit_failing(ctx)))
                dispatch_group_end(ctx);
        const char *plugin = request_plugin(&req);
        entry_init(&e, peer, op_to_string(req.op) ?: "invalid", plugin, req.name ?: req.user);
        unsigned flags = req.op < _OP_MAX ? op_flags(req.op) : 0;
        if (r >= 0 && !handlers[req.op])
                r = -EOPNOTSUPP;

        /* Admission, decided before the vault is touched, so a refusal
         * never depends on what is stored: the audit trail can take the
         * record, the principal has a token (malformed requests pay one
         * too), the policy allows the op's class on the plugin. */
        PolicyDecision d = {};
        if (r >= 0)
                d = policy_check(ctx->policy, peer, req.op, plugin);
        /* policy_check() says whether the caller is an admin, except for
         * a public op (allowed without looking) or a request not decoded. */
        bool admin = r >= 0 && op_class(req.op) != OP_CLASS_PUBLIC ? d.admin : policy_is_admin(ctx->policy, peer);
        if (r >= 0)
                r = audit_gate(ctx, req.op, &f);
        if (r != -ESHUTDOWN) {
                Failure fr = { .retry_after_ms = -1, .expires_at = -1 };
                int q = rate_take(ctx, peer, principal, admin, &fr, &rs);
                if (q < 0) {
                        f = fr;
                        r = q;
                }
        }
        if (r >= 0 && !d.allowed)
                r = policy_refusal(d, plugin, &f);

        bool grouped = false;
        if (r >= 0 && joins)
                grouped = dispatch_group_enter(ctx) >= 0;
        if (r >= 0) {
                if (flags & OP_WRITES) {
                        /* The record that commits with the write says what
                         * its success will be. */
                        e.revealed = reveals(&req, flags);
                        vault_audit_stage(ctx->vault, &e);
                }
                ctx->peer = peer;
                ctx->request_fd = fd;
                ctx->request_tag = tag;
                fd = -1;
                bool was_deferred = ctx->deferred.work;
                json_out_open_object(out, NULL);
                json_out_int(out, "id", (int64_t) req.id);
                json_out_bool(out, "ok", true);
                r = handlers[req.op](ctx, &req, out, &f);
                json_out_close_object(out);
                ctx->peer = NULL;
                fd = ctx->request_fd;
                ctx->request_fd = -1;
                ctx->request_tag = NULL;
                deferred = r >= 0 && !was_deferred && ctx->deferred.work;
                if (deferred) {
                        /* Recorded, and answered, when the work is done. */
                        ctx->deferred.entry = e;
                        ctx->deferred.has_id = req.has_id;
                        ctx->deferred.id = req.id;
                } else if (r >= 0 && json_out_finish(out) < 0) {
                        /* Limits in proto-limits.h keep every reply in a
                         * frame; if one still does not fit, say so. */
                        log_error("%s: reply does not fit a frame", op_to_string(req.op));
                        failure_set(&f, "reply too large");
                        r = -EIO;
                }
        }

        /* A descriptor no handler kept (or one for a request that was
         * refused) is closed: the daemon holds none it does not use. */
        if (fd >= 0)
                close(fd);
        if (deferred) {
                request_done(&req);
                return DISPATCH_DEFERRED;
        }

        /* A write whose record could not be appended: it was not done. */
        if (r == -ESHUTDOWN && !f.message[0])
                (void) audit_refusal(ctx, &f);
        bool revealed = r >= 0 && reveals(&req, flags);
        dispatch_entry_result(&e, r, revealed);
        bool flush_now = r < 0 || (flags & OP_WRITES);
        bool reserved = r >= 0 && (flush_now || revealed);
        /* A grouped write's record is journalled when its group ends,
         * with the group's outcome. */
        int q = grouped ? record_table(ctx, rs, r, &e) : dispatch_record(ctx, rs, r, &e, flush_now, reserved);
        if (q < 0 && r >= 0 && !answers_while_failing(req.op)) {
                /* The record could not be kept: the answer (perhaps a
                 * value) is not given either. */
                r = audit_refusal(ctx, &f);
                revealed = false;
        }
        if (r < 0) {
                if (!dispatch_error_is_expected(r))
                        log_error("%s failed: %s", op_to_string(req.op) ?: "request", strerror(-r));
                dispatch_error_reply(out, req.has_id, req.id, r, &f);
        }
        /* Even an error waits in a group: it may answer a state that
         * the group's earlier writes made and a failed commit undoes. */
        if (grouped)
                dispatch_group_hold(ctx, tag, req.has_id, req.id, r, reserved, &e);
        request_done(&req);
        return grouped ? DISPATCH_HELD : 0;
}

void dispatch_frame_error(Context *ctx, const Peer *peer, int error, JsonOut *out) {
        Failure f = { .retry_after_ms = -1, .expires_at = -1 };
        RateState *rs = NULL;
        AuditEntry e;

        if (error == -EMSGSIZE)
                failure_set(&f, "frame length over %d bytes", FRAME_BODY_MAX);
        else
                failure_set(&f, "empty frame");
        Failure fr = { .retry_after_ms = -1, .expires_at = -1 };
        if (rate_take(ctx, peer, dispatch_principal(ctx, peer), policy_is_admin(ctx->policy, peer), &fr, &rs) ==
            -EBUSY) {
                f = fr;
                error = -EBUSY;
        }
        dispatch_error_reply(out, false, 0, error, &f);
        entry_init(&e, peer, "frame", NULL, NULL);
        dispatch_entry_result(&e, error, false);
        (void) dispatch_record(ctx, rs, error, &e, true, false);
}

void dispatch_refuse(Context *ctx, const Peer *peer, JsonOut *out) {
        Failure f = { .retry_after_ms = -1, .expires_at = -1 }, fr = f;
        RateState *rs = NULL;
        AuditEntry e;

        failure_set(&f, "too many connections");
        dispatch_error_reply(out, false, 0, -ESHUTDOWN, &f);
        /* A refused connection takes a token too: past the rate, its
         * refusals are counted like any other, not each recorded. */
        int result = rate_take(ctx, peer, dispatch_principal(ctx, peer), policy_is_admin(ctx->policy, peer), &fr,
                               &rs) == -EBUSY
                             ? -EBUSY
                             : -ESHUTDOWN;
        entry_init(&e, peer, "connect", NULL, "too many connections");
        dispatch_entry_result(&e, result, false);
        (void) dispatch_record(ctx, rs, result, &e, true, false);
}

/* ---- the credential socket (credential.c) ---- */

int dispatch_audit_gate(Context *ctx) {
        Failure f;
        return audit_gate(ctx, OP_SECRET_GET, &f);
}

int dispatch_audit_record(Context *ctx, const Peer *peer, const char *unit, const char *op, const char *plugin,
                          const char *object, int result, bool revealed) {
        AuditEntry e;

        entry_init(&e, peer, op, plugin, object);
        dispatch_entry_set(e.unit, sizeof(e.unit), unit);
        dispatch_entry_result(&e, result, revealed);
        /* As a request's: a refusal at once, a value handed out with the
         * log queue's reserve. */
        return dispatch_record(ctx, NULL, result, &e, result < 0, result >= 0);
}
