/* vault-revocation.c — deleted token sets pending revocation at their
 * provider (RFC 7009); see vault.h.
 *
 * Owns: whether a delete queues a revocation (the plugin has the
 * revocation_endpoint secret), which token of the deleted set is revoked
 * (the refresh token if there is one: RFC 7009 §2.1 has the provider
 * revoke the access tokens of the same grant with it), the retry schedule
 * (a short hold while the refresher calls the provider, then a back-off
 * doubling from 30 s to an hour), and when to give up (10 attempts, or 7
 * days after the delete; and at most a few per user and some thousands
 * per plugin, the oldest given up first): a pending revocation keeps the
 * user's token sealed in the vault, which must not be for ever nor
 * without bound. A row holds only the token to revoke, sealed anew under
 * an identity of its own (vault_revocation_record_id(): the row's id and
 * a name no live record can have), so that a database writer can neither
 * put a live set's sealed bytes in a row (begin would reveal a live token
 * and the refresher revoke it) nor a row's in a live set. Each call is
 * one transaction.
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

/* Pending rows kept per user and per plugin; beyond, the oldest are given
 * up. A principal with write on a plugin could otherwise fill the disk
 * with put and delete, and the provider with revocations. */
#define PER_USER_MAX 4
#define PER_PLUGIN_MAX 10000

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

/* The prefix of a pending revocation's record name: U+001F, which no user
 * id has (request_check_user_id() refuses control characters), so that
 * the name is no live record's. */
#define RECORD_NAME_PREFIX "\x1frevocation\x1f"

void vault_revocation_record_id(const char *plugin, const char *user, int64_t id,
                                char name[static VAULT_REVOCATION_NAME_SIZE], RecordId *ret) {
        snprintf(name, VAULT_REVOCATION_NAME_SIZE, RECORD_NAME_PREFIX "%s", user);
        *ret = (RecordId) { .kind = RECORD_TOKEN, .plugin = plugin, .name = name, .version = id };
}

/* Inside the caller's transaction: give rows up (delete, count, note for
 * the audit trail), and free them. */
static int give_up(Vault *v, StoredRevocation *rows, size_t n, const AuditEntry *tmpl, GivenUp *g) {
        int r = 0;
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

/* The rows older than VAULT_REVOCATION_AGE_MAX (a few at a time). */
static int expire_old(Vault *v, int64_t now, const AuditEntry *tmpl, GivenUp *g) {
        StoredRevocation *rows = NULL;
        size_t n = 0;
        int r = store_revocation_expired(v->store, now - VAULT_REVOCATION_AGE_MAX, EXPIRE_BATCH, &rows, &n);
        return r < 0 ? r : give_up(v, rows, n, tmpl, g);
}

/* The rows beyond PER_USER_MAX of user and PER_PLUGIN_MAX of plugin,
 * after one was queued. */
static int give_up_excess(Vault *v, const char *plugin, const char *user, const AuditEntry *tmpl, GivenUp *g) {
        StoredRevocation *rows = NULL;
        size_t n = 0;
        int r = store_revocation_excess(v->store, plugin, user, PER_USER_MAX, PER_PLUGIN_MAX, EXPIRE_BATCH, &rows, &n);
        return r < 0 ? r : give_up(v, rows, n, tmpl, g);
}

static int token_pick(const SecretBuf *text, SecretBuf **ret_token, const char **ret_hint);

/* Queue the live set of user (inside the caller's transaction, before it
 * is deleted): a row is made from it, then its sealed bytes are replaced
 * by the token to revoke alone, as {"HINT":"TOKEN"}, sealed under the
 * row's own identity. -ENODATA: the set holds no token (nothing queued). */
static int queue(Vault *v, const char *plugin, const char *user, int64_t now_ms) {
        _cleanup_(secret_buf_freep) SecretBuf *set = NULL, *token = NULL, *text = NULL;
        _cleanup_(freep) uint8_t *sealed = NULL;
        char name[VAULT_REVOCATION_NAME_SIZE];
        StoredRecord meta = {};
        const char *hint = NULL;
        size_t sealed_size = 0;
        int64_t id = 0, kek_version = 0;
        RecordId rid;

        int r = vault_record_get(v, RECORD_TOKEN, plugin, user, &set, &meta);
        if (r >= 0)
                r = token_pick(set, &token, &hint);
        if (r < 0)
                return r;
        json_t *j = json_pack("{s:s%}", hint, (const char *) token->data, token->size);
        size_t size = j ? json_dumpb(j, NULL, 0, JSON_COMPACT) : 0;
        r = j ? secret_buf_new(size, &text) : -ENOMEM;
        if (r >= 0 && json_dumpb(j, (char *) text->data, size, JSON_COMPACT) != size)
                r = -EIO;
        json_decref(j); /* the daemon's jansson allocator wipes */
        if (r >= 0)
                r = store_revocation_queue(v->store, plugin, user, now_ms / MSEC_PER_SEC, now_ms, &id);
        if (r < 0)
                return r;
        vault_revocation_record_id(plugin, user, id, name, &rid);
        r = envelope_seal(v->keyring, &rid, text->data, text->size, &sealed, &sealed_size, &kek_version);
        if (r >= 0)
                r = store_revocation_rewrap(v->store, id, meta.version, kek_version, sealed, sealed_size);
        /* A row whose bytes are still the live set's goes: it would not
         * open as a revocation. */
        if (r < 0 && store_revocation_delete(v->store, id) < 0)
                return -EIO;
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
                /* Not queued (no set, no token in it, or sealing failed):
                 * the delete goes on all the same. Only a row that could
                 * not be removed again (-EIO) stops it. */
                int q = queue(v, plugin, user, now_ms);
                pending = q >= 0;
                if (q == -EIO) {
                        r = q;
                        goto rollback;
                }
        }
        r = store_record_delete(v->store, RECORD_TOKEN, plugin, user);
        if (r >= 0 && pending)
                r = give_up_excess(v, plugin, user, tmpl, &g);
        if (r >= 0)
                r = expire_old(v, now_ms / MSEC_PER_SEC, tmpl, &g);
        r = vault_end(v, r);
        if (r < 0)
                return r;
        given_up_audit(v, &g);
        if (ret_pending)
                *ret_pending = pending;
        return 0;

rollback:
        store_rollback(v->store);
        return r;
}

int vault_revocation_list(Vault *v, const char *plugin, int64_t after, unsigned limit, StoredRevocation **ret,
                          size_t *ret_n) {
        int r = store_revocation_list(v->store, plugin, after, limit, ret, ret_n);
        /* last_error is not under any MAC: listed only if it is an error
         * code as _end takes it. */
        for (size_t i = 0; r >= 0 && i < *ret_n; i++) {
                char *e = (*ret)[i].last_error;
                bool code = e && *e && strlen(e) <= 64;
                for (const char *p = e; code && *p; p++)
                        code = (*p >= 'a' && *p <= 'z') || *p == '_';
                if (e && !code) {
                        free(e);
                        (*ret)[i].last_error = NULL;
                }
        }
        return r;
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
                           const char **ret_hint, char **ret_user, int64_t *ret_retry_ms) {
        _cleanup_(secret_buf_freep) SecretBuf *text = NULL, *token = NULL;
        StoredRevocation row = {};
        const char *hint = NULL;
        GivenUp g = {};
        int64_t now_ms = time_realtime_ms();

        int r = store_begin(v->store);
        if (r < 0)
                return r;
        r = store_revocation_get(v->store, plugin, id, &row);
        if (r >= 0)
                audit_stage_user(v, row.user);
        /* Not before it is due: another refresher holds it (begin), or
         * its back-off runs. And past its limits, it is given up, not
         * handed out once more. */
        if (r >= 0 && row.next_at > now_ms) {
                *ret_retry_ms = row.next_at - now_ms;
                r = -EALREADY;
        } else if (r >= 0 && (row.attempts >= VAULT_REVOCATION_ATTEMPTS_MAX ||
                              now_ms / MSEC_PER_SEC - row.deleted_at >= VAULT_REVOCATION_AGE_MAX)) {
                r = store_revocation_delete(v->store, id);
                if (r >= 0)
                        r = given_up_add(v, 1);
                if (r >= 0)
                        given_up_note(&g, tmpl, &row);
                r = vault_end(v, r);
                if (r >= 0)
                        given_up_audit(v, &g);
                stored_revocation_done(&row);
                return r < 0 ? r : -ENOENT;
        }
        if (r >= 0) {
                char name[VAULT_REVOCATION_NAME_SIZE];
                RecordId rid;
                vault_revocation_record_id(plugin, row.user, row.id, name, &rid);
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
        char name[VAULT_REVOCATION_NAME_SIZE];
        RecordId id;
        vault_revocation_record_id(row.plugin, row.user, row.id, name, &id);
        *ret_from = row.kek_version;
        r = envelope_rewrap(v->keyring, &id, row.sealed, row.sealed_size, &sealed, &size, &kek_version);
        if (r >= 0)
                r = store_revocation_rewrap(v->store, row.id, row.version, kek_version, sealed, size);
        stored_revocation_done(&row);
        return r;
}
