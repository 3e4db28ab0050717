/* vault-revocation.c — deleted token sets pending revocation at their
 * provider (RFC 7009); see vault.h.
 *
 * Owns: whether a delete queues a revocation (the plugin has the
 * revocation_endpoint secret), which token of the deleted set is revoked
 * (the refresh token if there is one: RFC 7009 §2.1 has the provider
 * revoke the access tokens of the same grant with it), the retry schedule
 * (a short hold while the refresher calls the provider, then a back-off
 * doubling from 30 s to an hour), and when to give up (10 attempts, or 7
 * days after the delete): a pending revocation keeps the user's tokens
 * sealed in the vault, which must not be for ever. A row opens with the
 * deleted set's own identity (token, plugin, user, version), so that it
 * cannot be opened as anything else. Each call is one transaction.
 *
 * Never: calls the network (the refresher does), lets a token out but in
 * a SecretBuf, or fails a delete for want of revocation. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "time-util.h"
#include "vault-internal.h"

/* The count of revocations given up, kept across restarts. */
#define META_GIVEN_UP "revocations_given_up"
/* Rows given up by age in one write at most: the rest go with the next. */
#define EXPIRE_BATCH 16

static int given_up_get(Vault *v, int64_t *ret) {
        _cleanup_(freep) uint8_t *text = NULL;
        size_t size = 0;
        char buf[24];

        *ret = 0;
        int r = store_meta_get(v->store, META_GIVEN_UP, &text, &size);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        if (size == 0 || size >= sizeof(buf))
                return 0; /* not ours: counted afresh */
        memcpy(buf, text, size);
        buf[size] = '\0';
        *ret = strtoll(buf, NULL, 10);
        return 0;
}

static int given_up_add(Vault *v, int64_t n) {
        int64_t count = 0;
        char buf[24];
        int r = given_up_get(v, &count);
        if (r < 0)
                return r;
        int len = snprintf(buf, sizeof(buf), "%" PRId64, count + n);
        return store_meta_set(v->store, META_GIVEN_UP, (const uint8_t *) buf, (size_t) len);
}

/* The audit record of a revocation given up: the caller's, renamed. */
typedef struct GivenUp {
        AuditEntry entries[EXPIRE_BATCH + 1];
        size_t n;
} GivenUp;

static void given_up_note(GivenUp *g, const AuditEntry *tmpl, const StoredRevocation *row) {
        if (!tmpl || g->n >= ELEMENTSOF(g->entries))
                return;
        AuditEntry *e = &g->entries[g->n++];
        *e = *tmpl;
        e->seq = 0;
        e->revealed = false;
        e->mac = (RecordMac) {};
        snprintf(e->op, sizeof(e->op), "%s", VAULT_REVOCATION_AUDIT_OP);
        snprintf(e->plugin, sizeof(e->plugin), "%s", row->plugin);
        snprintf(e->object, sizeof(e->object), "%s", row->user);
        snprintf(e->result, sizeof(e->result), "ok");
}

/* After the commit: the records go with the next write or flush (a
 * rollback must not leave a record of what did not happen). */
static void given_up_audit(Vault *v, const GivenUp *g) {
        for (size_t i = 0; i < g->n; i++)
                (void) vault_audit_queue(v, &g->entries[i]);
}

/* The request's staged audit record names the deleted set's user: the
 * request names only the row's id, and the trail must say whose token
 * was handed out or reported on. */
static void audit_stage_user(Vault *v, const char *user) {
        if (v->audit_stage_state == AUDIT_STAGE_WAITING && !v->audit_stage.object[0])
                snprintf(v->audit_stage.object, sizeof(v->audit_stage.object), "%s", user);
}

/* Inside the caller's transaction: give up the rows older than
 * VAULT_REVOCATION_AGE_MAX (a few at a time). */
static int expire_old(Vault *v, int64_t now, const AuditEntry *tmpl, GivenUp *g) {
        StoredRevocation *rows = NULL;
        size_t n = 0;
        int r = store_revocation_expired(v->store, now - VAULT_REVOCATION_AGE_MAX, EXPIRE_BATCH, &rows, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n && r >= 0; i++) {
                r = store_revocation_delete(v->store, rows[i].id);
                if (r >= 0)
                        given_up_note(g, tmpl, &rows[i]);
        }
        if (r >= 0 && n > 0)
                r = given_up_add(v, (int64_t) n);
        stored_revocations_free(rows, n);
        return r;
}

int vault_token_delete_revoking(Vault *v, const char *plugin, const char *user, const AuditEntry *tmpl,
                                bool *ret_pending) {
        GivenUp g = {};
        int64_t endpoint = 0;
        bool pending = false;
        int64_t now_ms = time_realtime_ms();

        int r = store_begin(v->store);
        if (r < 0)
                return r;
        /* Whether the secret exists, not its value: the refresher checks
         * the URL when it calls it. */
        if (store_record_version(v->store, RECORD_SECRET, plugin, VAULT_REVOCATION_SECRET, &endpoint) >= 0 &&
            endpoint > 0) {
                int q = store_revocation_queue(v->store, plugin, user, now_ms / MSEC_PER_SEC, now_ms, NULL);
                pending = q >= 0;
                /* Not queued (no such set, or the insert failed): the
                 * delete goes on and says whether there was a set. */
        }
        r = store_record_delete(v->store, RECORD_TOKEN, plugin, user);
        if (r >= 0)
                r = expire_old(v, now_ms / MSEC_PER_SEC, tmpl, &g);
        r = vault_end(v, r);
        if (r < 0)
                return r;
        given_up_audit(v, &g);
        if (ret_pending)
                *ret_pending = pending;
        return 0;
}

int vault_revocation_list(Vault *v, const char *plugin, int64_t after, unsigned limit, StoredRevocation **ret,
                          size_t *ret_n) {
        return store_revocation_list(v->store, plugin, after, limit, ret, ret_n);
}

/* The token of a deleted set to revoke, from its JSON text. */
static int token_pick(const SecretBuf *text, SecretBuf **ret_token, const char **ret_hint) {
        json_t *set = json_loadb((const char *) text->data, text->size, 0, NULL);
        const char *hint = "refresh_token";
        json_t *t = json_object_get(set, hint);
        if (!json_is_string(t) || json_string_length(t) == 0) {
                hint = "access_token";
                t = json_object_get(set, hint);
        }
        int r = -ENODATA;
        if (json_is_string(t) && json_string_length(t) > 0)
                r = secret_buf_new_copy(json_string_value(t), json_string_length(t), ret_token);
        json_decref(set); /* jansson's allocator wipes in the daemon */
        if (r >= 0)
                *ret_hint = hint;
        return r;
}

int vault_revocation_begin(Vault *v, const char *plugin, int64_t id, const AuditEntry *tmpl, SecretBuf **ret_token,
                           const char **ret_hint, char **ret_user) {
        _cleanup_(secret_buf_freep) SecretBuf *text = NULL, *token = NULL;
        StoredRevocation row = {};
        const char *hint = NULL;
        GivenUp g = {};
        int64_t now_ms = time_realtime_ms();

        int r = store_begin(v->store);
        if (r < 0)
                return r;
        r = store_revocation_get(v->store, plugin, id, &row);
        if (r >= 0) {
                audit_stage_user(v, row.user);
                RecordId rid = { .kind = RECORD_TOKEN, .plugin = plugin, .name = row.user, .version = row.version };
                r = envelope_open(v->keyring, &rid, row.sealed, row.sealed_size, &text);
        }
        if (r >= 0)
                r = token_pick(text, &token, &hint);
        /* Held off while the refresher calls the provider: a second
         * refresher lists it as not due (two revocations would be harmless,
         * RFC 7009 §2.2, but are wasted). */
        if (r >= 0)
                r = store_revocation_retry(v->store, id, row.attempts + 1, now_ms + VAULT_REVOCATION_LEASE_MS,
                                           row.last_error);
        if (r >= 0)
                r = expire_old(v, now_ms / MSEC_PER_SEC, tmpl, &g);
        r = vault_end(v, r);
        if (r < 0) {
                stored_revocation_done(&row);
                return r;
        }
        given_up_audit(v, &g);
        *ret_token = TAKE_PTR(token);
        *ret_hint = hint;
        *ret_user = TAKE_PTR(row.user);
        stored_revocation_done(&row);
        return 0;
}

/* The delay before attempt attempts + 1: 30 s doubled per failed attempt, at most an hour. */
static int64_t retry_delay_s(int64_t attempts) {
        int64_t d = VAULT_REVOCATION_RETRY_MIN_S;
        for (int64_t i = 1; i < attempts && d < VAULT_REVOCATION_RETRY_MAX_S; i++)
                d *= 2;
        return d < VAULT_REVOCATION_RETRY_MAX_S ? d : VAULT_REVOCATION_RETRY_MAX_S;
}

int vault_revocation_end(Vault *v, const char *plugin, int64_t id, const char *error, const AuditEntry *tmpl,
                         RevocationEnd *ret) {
        StoredRevocation row = {};
        RevocationEnd out = {};
        GivenUp g = {};
        int64_t now_ms = time_realtime_ms(), now = now_ms / MSEC_PER_SEC;

        int r = store_begin(v->store);
        if (r < 0)
                return r;
        r = store_revocation_get(v->store, plugin, id, &row);
        if (r < 0)
                goto rollback;
        audit_stage_user(v, row.user);
        /* An end without a begin counts as one attempt all the same. */
        out.attempts = row.attempts > 0 ? row.attempts : 1;
        if (!error) {
                out.state = "revoked";
                r = store_revocation_delete(v->store, id);
        } else if (out.attempts >= VAULT_REVOCATION_ATTEMPTS_MAX || now - row.deleted_at >= VAULT_REVOCATION_AGE_MAX) {
                out.state = "given_up";
                r = store_revocation_delete(v->store, id);
                if (r >= 0)
                        r = given_up_add(v, 1);
                if (r >= 0)
                        given_up_note(&g, tmpl, &row);
        } else {
                out.state = "retrying";
                out.next_at = now_ms + retry_delay_s(out.attempts) * MSEC_PER_SEC;
                r = store_revocation_retry(v->store, id, out.attempts, out.next_at, error);
        }
        if (r >= 0)
                r = expire_old(v, now, tmpl, &g);
        r = vault_end(v, r);
        if (r < 0) {
                stored_revocation_done(&row);
                return r;
        }
        given_up_audit(v, &g);
        out.user = TAKE_PTR(row.user);
        stored_revocation_done(&row);
        *ret = out;
        return 0;

rollback:
        store_rollback(v->store);
        stored_revocation_done(&row);
        return r;
}

int vault_revocation_stats(Vault *v, RevocationStats *ret) {
        RevocationStats out = {};
        int r = store_revocation_summary(v->store, &out.pending, &out.next_at);
        if (r >= 0)
                r = given_up_get(v, &out.given_up);
        if (r < 0)
                return r;
        *ret = out;
        return 0;
}

int vault_revocation_rewrap(Vault *v, const StoredRecordRef *ref, int64_t *ret_from) {
        _cleanup_(freep) uint8_t *sealed = NULL;
        StoredRevocation row = {};
        size_t size = 0;
        int64_t kek_version;

        int r = store_revocation_get(v->store, ref->plugin, ref->revocation, &row);
        if (r < 0)
                return r;
        RecordId id = { .kind = RECORD_TOKEN, .plugin = row.plugin, .name = row.user, .version = row.version };
        *ret_from = row.kek_version;
        r = envelope_rewrap(v->keyring, &id, row.sealed, row.sealed_size, &sealed, &size, &kek_version);
        if (r >= 0)
                r = store_revocation_rewrap(v->store, row.id, row.version, kek_version, sealed, size);
        stored_revocation_done(&row);
        return r;
}
