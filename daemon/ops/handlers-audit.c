/* handlers-audit.c — reading, checking and pruning the audit trail. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dispatch.h"
#include "handlers.h"
#include "parse-util.h"

const char *handlers_audit_error_text(const VaultAuditStatus *st, char *buf, size_t size) {
        switch (st->error) {
        case -ENOSPC:
                return "disk full";
        case -EROFS:
                return "read-only file system";
        case -EBUSY:
                return "database busy";
        case -ENOMEM:
                return "out of memory";
        default:
                /* A refusal by the database itself, e.g. a trigger added
                 * behind the vault's back: its own words say which. */
                snprintf(buf, size, "database error: %s",
                         st->reason && st->reason[0] ? st->reason : strerror(-st->error));
                return buf;
        }
}

/* The most one record of audit.list can take in the reply: every string
 * field at its largest with every byte escaped (\u00XX), the numbers at
 * their longest and the keys; and the most the reply's tail can take
 * after the records: `],"next":"SEQ"}`. */
#define JSON_STRING_SIZE_MAX(n) (6 * (n) + 2)
#define AUDIT_RECORD_JSON_MAX                                                                                          \
        (JSON_STRING_SIZE_MAX(AUDIT_UNIT_SIZE_MAX) + JSON_STRING_SIZE_MAX(AUDIT_OP_SIZE_MAX) +                         \
         JSON_STRING_SIZE_MAX(NAME_SIZE_MAX) + JSON_STRING_SIZE_MAX(USER_ID_SIZE_MAX) +                                \
         JSON_STRING_SIZE_MAX(AUDIT_RESULT_SIZE_MAX) + 256)
#define AUDIT_LIST_TAIL_MAX 64

/* A page of records of the largest size still fits a frame, so every
 * page holds at least one record. */
_Static_assert(2 * AUDIT_RECORD_JSON_MAX + AUDIT_LIST_TAIL_MAX + 256 < FRAME_BODY_MAX,
               "an audit.list reply holds at least one record");

/* "uid:N" or "unit:NAME" into the filter. */
static int principal_filter(const char *s, AuditFilter *af, Failure *f) {
        int64_t uid;
        if (strncmp(s, "uid:", 4) == 0 && parse_int64(s + 4, 0, UINT32_MAX, &uid) >= 0) {
                af->uid = uid;
                return 0;
        }
        if (strncmp(s, "unit:", 5) == 0 && s[5]) {
                af->unit = s + 5;
                return 0;
        }
        failure_set(f, "field 'principal': expected uid:N or unit:NAME");
        return -EINVAL;
}

int handle_audit_list(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        AuditFilter af = { .plugin = req->plugin, .op = req->audit_op, .uid = -1 };
        AuditEntry *items = NULL;
        int64_t after = 0, next = 0;
        size_t n = 0;
        int r;

        if (req->principal && (r = principal_filter(req->principal, &af, f)) < 0)
                return r;
        /* A misspelt op would match nothing and look like no records. */
        if (req->audit_op && op_from_string(req->audit_op) < 0 && strcmp(req->audit_op, "connect") != 0 &&
            strcmp(req->audit_op, "frame") != 0 && strcmp(req->audit_op, "invalid") != 0 &&
            strcmp(req->audit_op, AUDIT_OP_SECRET_EXPIRE) != 0 &&
            strcmp(req->audit_op, AUDIT_OP_CREDENTIAL_LOAD) != 0 &&
            strcmp(req->audit_op, VAULT_REVOCATION_AUDIT_OP) != 0) {
                failure_set(f, "field 'audit_op': not an op, nor connect, frame, invalid, " AUDIT_OP_SECRET_EXPIRE
                               ", " AUDIT_OP_CREDENTIAL_LOAD " or " VAULT_REVOCATION_AUDIT_OP);
                return -EINVAL;
        }
        if (req->after && parse_int64(req->after, 0, INT64_MAX, &after) < 0) {
                failure_set(f, "field 'after': not a cursor of audit.list");
                return -EINVAL;
        }
        af.since_usec = req->since * 1000000;
        af.until_usec = req->until * 1000000;
        r = vault_audit_list(ctx->vault, &af, after, req->limit, &items, &n, &next);
        if (r < 0)
                return r;
        json_out_open_array(reply, "records");
        for (size_t i = 0; i < n; i++) {
                const AuditEntry *e = &items[i];
                /* Records of up to ~4 KB each (user ids and units escaped)
                 * would not all fit a frame: the page ends where another
                 * of the largest might not, and goes on after the last
                 * record written. */
                if (i > 0 && reply->size + AUDIT_RECORD_JSON_MAX + AUDIT_LIST_TAIL_MAX > FRAME_BODY_MAX) {
                        next = items[i - 1].seq;
                        break;
                }
                json_out_open_object(reply, NULL);
                json_out_int(reply, "seq", e->seq);
                json_out_int(reply, "time_us", e->time_usec);
                json_out_int(reply, "uid", e->uid);
                json_out_int(reply, "gid", e->gid);
                json_out_int(reply, "pid", e->pid);
                json_out_cstring(reply, "unit", e->unit[0] ? e->unit : NULL);
                json_out_cstring(reply, "op", e->op);
                json_out_cstring(reply, "plugin", e->plugin[0] ? e->plugin : NULL);
                json_out_cstring(reply, "object", e->object[0] ? e->object : NULL);
                json_out_cstring(reply, "result", e->result);
                json_out_bool(reply, "revealed", e->revealed);
                json_out_close_object(reply);
        }
        json_out_close_array(reply);
        /* A page may hold fewer records than asked for, even none, and
         * still have a next: the store reads a bounded number of rows. */
        if (next > 0) {
                char cursor[24];
                snprintf(cursor, sizeof(cursor), "%" PRId64, next);
                json_out_cstring(reply, "next", cursor);
        } else
                json_out_null(reply, "next");
        free(items);
        return 0;
}

/* Blocks the daemon for the whole walk (about 1.4 s at 350,000 records):
 * an admin's rare request, left so; see vault_audit_verify(). */
int handle_audit_verify(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        AuditVerify v = {};
        (void) req, (void) f;

        int r = vault_audit_verify(ctx->vault, &v);
        if (r < 0 && r != -EUCLEAN)
                return r;
        json_out_bool(reply, "intact", r >= 0);
        json_out_int(reply, "records", v.records);
        json_out_int(reply, "anchor_seq", v.anchor_seq);
        json_out_int(reply, "first_seq", v.first_seq);
        json_out_int(reply, "last_seq", v.last_seq);
        if (r < 0) {
                json_out_int(reply, "bad_seq", v.bad_seq);
                json_out_cstring(reply, "problem", v.problem ?: "does not check");
        }
        return 0;
}

int handle_audit_prune(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        AuditVerify broken = {};
        int64_t removed = 0;
        VaultAuditStatus st;

        if (req->before > time(NULL) + 1) {
                failure_set(f, "field 'before': in the future: only records older than now can be pruned");
                return -EINVAL;
        }
        int r = vault_audit_prune(ctx->vault, req->before * 1000000, &removed, &broken);
        if (r == -EUCLEAN && broken.problem)
                failure_set(f,
                            "the audit trail does not verify at record %" PRId64
                            " (%s); prune would erase the evidence: run credvault audit verify",
                            broken.bad_seq, broken.problem);
        if (r < 0)
                return r;
        vault_audit_status(ctx->vault, &st);
        json_out_int(reply, "removed", removed);
        json_out_int(reply, "anchor_seq", st.anchor_seq);
        return 0;
}
