/* vault-audit.c — the audit trail: append-only rows in a MAC chain (see
 * vault.h).
 *
 * Owns: the chain (which bytes a record's MAC covers, under which key),
 * the in-memory batch and the staged record of a write, appending both in
 * the transaction that commits them, and checking the whole chain. Never:
 * changes a record once appended, or decides what a record says (dispatch
 * does, but for a prune's own "through SEQ").
 *
 * The chain: mac_n = BLAKE2b-256 keyed with keyring_audit_key() over
 * mac_{n-1} and the record's fields (see audit_mac()); before the first
 * record, 32 zero bytes. A record cannot be edited, inserted, removed from
 * the middle or moved without breaking the chain at that seq, since seq is
 * under the MAC. Removing the oldest records is a prune: the last record
 * it removed stays as the anchor the chain goes on from, and the prune's
 * own record, which is in the chain, names it ("through SEQ"); an anchor
 * that no prune record names means records were removed behind the
 * vault's back. What the chain cannot show is the newest records cut off
 * while the daemon was stopped: the journal's copy of each record
 * (log/audit.c) is the witness for that.
 *
 * Numbers and MACs are given when records are appended inside a
 * transaction (the batch in order, then the staged record), and taken back
 * with a rollback, so seq stays contiguous and the batch keeps its
 * records until a commit has them. */
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vault-internal.h"

/* The op of a prune's record, which verify looks for. vault_audit_prune()
 * writes it into the staged record itself, so that it matches whatever
 * name dispatch staged the record under. */
#define AUDIT_PRUNE_OP "audit.prune"
#define AUDIT_THROUGH "through "

/* What a MAC covers after the previous MAC: seq, time_usec (8 bytes),
 * uid, gid, pid (4), revealed (1), then unit, op, plugin, object and
 * result each as its length (4) and bytes; integers big-endian. Every
 * field has a fixed size or a length, so no two records encode alike. The
 * strings are bounded by AuditEntry, so a record fits here and is hashed
 * in one call: a flush hashes up to VAULT_AUDIT_BATCH_MAX of them. */
#define AUDIT_STRINGS_SIZE_MAX                                                                                         \
        (AUDIT_UNIT_SIZE_MAX + AUDIT_OP_SIZE_MAX + NAME_SIZE_MAX + USER_ID_SIZE_MAX + AUDIT_RESULT_SIZE_MAX)
#define AUDIT_MESSAGE_SIZE_MAX (RECORD_MAC_SIZE + 8 + 8 + 3 * 4 + 1 + 5 * 4 + AUDIT_STRINGS_SIZE_MAX)

_Static_assert(RECORD_MAC_SIZE == KEYRING_MAC_SIZE, "the store keeps what the chain computes");

static size_t put_be(uint8_t *p, uint64_t v, size_t size) {
        for (size_t i = 0; i < size; i++)
                p[i] = (uint8_t) (v >> (8 * (size - 1 - i)));
        return size;
}

static size_t put_field(uint8_t *p, const char *field, size_t field_size) {
        /* strnlen: a field is bounded by its array even if not terminated. */
        size_t n = strnlen(field, field_size - 1);
        put_be(p, n, 4);
        memcpy(p + 4, field, n);
        return 4 + n;
}

#define PUT_FIELD(p, e, name) put_field(p, (e)->name, sizeof((e)->name))

/* e's MAC in the chain after prev. Neither the fields nor the MACs are
 * secret (both are in the file): nothing here to wipe. */
static int audit_mac(const Keyring *k, const uint8_t prev[static RECORD_MAC_SIZE], const AuditEntry *e,
                     uint8_t ret[static RECORD_MAC_SIZE]) {
        const uint8_t *key = keyring_audit_key(k);
        uint8_t buf[AUDIT_MESSAGE_SIZE_MAX];
        size_t at = 0;

        if (!key)
                return -ENOKEY;
        memcpy(buf, prev, RECORD_MAC_SIZE);
        at += RECORD_MAC_SIZE;
        at += put_be(buf + at, (uint64_t) e->seq, 8);
        at += put_be(buf + at, (uint64_t) e->time_usec, 8);
        at += put_be(buf + at, e->uid, 4);
        at += put_be(buf + at, e->gid, 4);
        at += put_be(buf + at, (uint32_t) e->pid, 4);
        buf[at++] = e->revealed ? 1 : 0;
        at += PUT_FIELD(buf + at, e, unit);
        at += PUT_FIELD(buf + at, e, op);
        at += PUT_FIELD(buf + at, e, plugin);
        at += PUT_FIELD(buf + at, e, object);
        at += PUT_FIELD(buf + at, e, result);
        crypto_generichash(ret, RECORD_MAC_SIZE, buf, at, key, KEYRING_MAC_SIZE);
        return 0;
}

int vault_audit_load(Vault *v) {
        RecordMac mac = {};

        if (!keyring_audit_key(v->keyring))
                return -ENOKEY;
        int r = store_audit_anchor_get(v->store, &v->audit_anchor_seq, &mac);
        if (r == -ENOENT)
                v->audit_anchor_seq = 0;
        else if (r < 0)
                return r;
        r = store_audit_head(v->store, &v->audit_seq, &mac);
        if (r < 0)
                return r;
        /* A head MAC of another size was written behind the vault's back;
         * the next record then chains from zeros, and verify reports the
         * head itself. */
        memset(v->audit_mac, 0, sizeof(v->audit_mac));
        if (mac.size == RECORD_MAC_SIZE)
                memcpy(v->audit_mac, mac.bytes, RECORD_MAC_SIZE);
        return 0;
}

/* Number and MAC entries from the head on, advancing it, and append them:
 * inside a transaction, whose rollback must put the head back. On
 * failure *ret_reason is the store's own words, if it had any (see
 * store_audit_append()). */
static int chain_append(Vault *v, AuditEntry *entries, size_t n, const char **ret_reason) {
        for (size_t i = 0; i < n; i++) {
                AuditEntry *e = &entries[i];
                e->seq = v->audit_seq + 1;
                int r = audit_mac(v->keyring, v->audit_mac, e, e->mac.bytes);
                if (r < 0)
                        return r;
                e->mac.size = RECORD_MAC_SIZE;
                v->audit_seq = e->seq;
                memcpy(v->audit_mac, e->mac.bytes, RECORD_MAC_SIZE);
        }
        return store_audit_append(v->store, entries, n, ret_reason);
}

int vault_audit_commit(Vault *v, int r, bool take_stage) {
        bool stage = take_stage && v->audit_stage_state == AUDIT_STAGE_WAITING;
        /* Inside a group the batch waits for a commit of its own: a
         * savepoint's records are lost if the group fails, and the batch
         * would be lost with them. */
        size_t n_batch = store_in_group(v->store) ? 0 : v->audit_n;
        bool carrying = r >= 0 && (n_batch > 0 || stage);
        int64_t saved_seq = v->audit_seq;
        uint8_t saved_mac[RECORD_MAC_SIZE];
        const char *reason = NULL;
        bool appended = true;

        memcpy(saved_mac, v->audit_mac, RECORD_MAC_SIZE);
        if (carrying) {
                r = chain_append(v, v->audit_batch, n_batch, &reason);
                if (r >= 0 && stage) {
                        snprintf(v->audit_stage.result, sizeof(v->audit_stage.result), "ok");
                        r = chain_append(v, &v->audit_stage, 1, &reason);
                }
                appended = r >= 0;
        }
        if (r >= 0)
                r = store_commit(v->store);
        if (r < 0) {
                /* Before the rollback, which has a message of its own. */
                if (carrying)
                        snprintf(v->audit_reason, sizeof(v->audit_reason), "%s",
                                 reason ?: store_error_message(v->store));
                store_rollback(v->store);
                if (carrying) {
                        v->audit_seq = saved_seq;
                        memcpy(v->audit_mac, saved_mac, RECORD_MAC_SIZE);
                        v->audit_error = r;
                        /* A write that cannot be recorded does not happen,
                         * and its caller is told the trail is why. */
                        if (take_stage && !appended)
                                r = -ESHUTDOWN;
                }
                return r;
        }
        if (carrying) {
                v->audit_n -= n_batch;
                if (stage)
                        v->audit_stage_state = AUDIT_STAGE_TAKEN;
                v->audit_error = 0;
        }
        return 0;
}

void vault_audit_stage(Vault *v, const AuditEntry *e) {
        v->audit_stage = *e;
        v->audit_stage_state = AUDIT_STAGE_WAITING;
}

/* On every request's path: a copy into the batch, allocated once. */
int vault_audit_add(Vault *v, const AuditEntry *e) {
        bool taken = v->audit_stage_state == AUDIT_STAGE_TAKEN;

        v->audit_stage_state = AUDIT_STAGE_NONE;
        if (taken)
                return 0;
        return vault_audit_queue(v, e);
}

int vault_audit_queue(Vault *v, const AuditEntry *e) {
        if (!v->audit_batch) {
                v->audit_batch = malloc(VAULT_AUDIT_BATCH_MAX * sizeof(AuditEntry));
                if (!v->audit_batch)
                        return -ENOMEM;
                v->audit_alloc = VAULT_AUDIT_BATCH_MAX;
        }
        /* Full: write it now, or refuse rather than lose a record. Inside
         * a write group the batch cannot be written (its commit would
         * carry the records into the group's fate): it grows instead,
         * for the few milliseconds a group lasts at most. */
        if (v->audit_n >= VAULT_AUDIT_BATCH_MAX && store_in_group(v->store)) {
                if (v->audit_n == v->audit_alloc) {
                        AuditEntry *grown = realloc(v->audit_batch, 2 * v->audit_alloc * sizeof(AuditEntry));
                        if (!grown)
                                return -ENOMEM;
                        v->audit_batch = grown;
                        v->audit_alloc *= 2;
                }
        } else if (v->audit_n >= VAULT_AUDIT_BATCH_MAX && vault_audit_flush(v) < 0)
                return -ESHUTDOWN;
        v->audit_batch[v->audit_n++] = *e;
        return 0;
}

/* Never takes the stage: a flush runs between requests, or in the middle
 * of one whose write has not happened yet. With nothing queued no record
 * is at risk, so the status is cleared: otherwise a failure with nothing
 * left to retry (a staged write whose final record was never added)
 * would say "failing" until the next write, which dispatch refuses while
 * it does. */
int vault_audit_flush(Vault *v) {
        if (v->audit_n == 0) {
                v->audit_error = 0;
                return 0;
        }
        /* Its caller ends the group first (vault_group_commit()). */
        if (store_in_group(v->store))
                return -EBUSY;
        int r = store_begin(v->store);
        if (r < 0) {
                v->audit_error = r;
                snprintf(v->audit_reason, sizeof(v->audit_reason), "%s", store_error_message(v->store));
                return r;
        }
        return vault_audit_commit(v, 0, false);
}

/* The records waiting in the batch go first, in the group's transaction
 * (each group's write carries them no more: its savepoint would lose them
 * if the group failed), so that the trail keeps the order of the requests:
 * a read before a write is recorded before it. They stay in the batch
 * until the group commits; a group that fails leaves them to the next
 * flush. */
int vault_group_begin(Vault *v) {
        int r = store_group_begin(v->store);
        if (r < 0)
                return r;
        v->group_seq = v->audit_seq;
        memcpy(v->group_mac, v->audit_mac, RECORD_MAC_SIZE);
        v->group_carried = 0;
        if (v->audit_n == 0)
                return 0;
        const char *reason = NULL;
        r = store_begin(v->store);
        if (r >= 0)
                r = chain_append(v, v->audit_batch, v->audit_n, &reason);
        if (r >= 0)
                r = store_commit(v->store);
        if (r >= 0)
                v->group_carried = v->audit_n;
        else {
                store_rollback(v->store);
                v->audit_seq = v->group_seq;
                memcpy(v->audit_mac, v->group_mac, RECORD_MAC_SIZE);
        }
        return 0;
}

/* A failed group leaves nothing of its writes, their records included:
 * the chain's head goes back to where the group began, and the records
 * it carried wait in the batch still. */
int vault_group_commit(Vault *v) {
        if (!store_in_group(v->store))
                return 0;
        int r = store_group_commit(v->store);
        if (r < 0) {
                v->audit_seq = v->group_seq;
                memcpy(v->audit_mac, v->group_mac, RECORD_MAC_SIZE);
                /* A delete in the group counted the previous versions it
                 * removed (vault_secret_delete()): count them again. */
                (void) vault_stage_refresh(v);
        } else if (v->group_carried > 0) {
                /* Those added during the group move up. */
                v->audit_n -= v->group_carried;
                memmove(v->audit_batch, v->audit_batch + v->group_carried, v->audit_n * sizeof(AuditEntry));
                v->audit_error = 0;
        }
        v->group_carried = 0;
        return r;
}

bool vault_in_group(const Vault *v) {
        return store_in_group(v->store);
}

void vault_audit_status(Vault *v, VaultAuditStatus *ret) {
        *ret = (VaultAuditStatus) {
                .failing = v->audit_error < 0,
                .error = v->audit_error,
                .queued = v->audit_n,
                .last_seq = v->audit_seq,
                .anchor_seq = v->audit_anchor_seq,
                .reason = v->audit_error < 0 ? v->audit_reason : "",
        };
}

void vault_audit_free(Vault *v) {
        /* What a clean stop still holds is written, if it can be. */
        if (v->audit_n > 0 && v->store)
                (void) vault_audit_flush(v);
        free(v->audit_batch);
        v->audit_batch = NULL;
        v->audit_n = 0;
}

/* If the flush fails the answer is what is written (the newest records
 * wait in the batch, and the status says so): reading the trail is most
 * wanted when it is failing. */
int vault_audit_list(Vault *v, const AuditFilter *f, int64_t after_seq, unsigned limit, AuditEntry **ret, size_t *ret_n,
                     int64_t *ret_next) {
        (void) vault_audit_flush(v);
        return store_audit_list(v->store, f, after_seq, limit, ret, ret_n, ret_next);
}

/* ---- verify ---- */

typedef struct VerifyWalk {
        const Keyring *keyring;
        int64_t next_seq;
        uint8_t prev[RECORD_MAC_SIZE];
        int64_t prune_through; /* what the last prune record names; -1: none seen */
        AuditVerify *out;
} VerifyWalk;

/* "through SEQ" of a prune record; -1 if it does not say so (only a record
 * the vault did not write, which would not have checked). */
static int64_t prune_through(const AuditEntry *e) {
        const size_t n = strlen(AUDIT_THROUGH);
        char *end = NULL;

        if (strncmp(e->object, AUDIT_THROUGH, n) != 0 || e->object[n] < '0' || e->object[n] > '9')
                return -1;
        errno = 0;
        long long v = strtoll(e->object + n, &end, 10);
        return errno == 0 && *end == 0 ? (int64_t) v : -1;
}

static int verify_fail(AuditVerify *out, int64_t bad_seq, const char *problem) {
        out->bad_seq = bad_seq;
        out->problem = problem;
        return -EUCLEAN;
}

static int verify_row(const AuditEntry *e, void *userdata) {
        VerifyWalk *w = userdata;
        uint8_t want[RECORD_MAC_SIZE];

        if (e->seq > w->next_seq)
                return verify_fail(w->out, w->next_seq, "missing");
        /* Only the first row can be lower: records the anchor says were
         * pruned. */
        if (e->seq < w->next_seq)
                return verify_fail(w->out, e->seq, "anchor does not match the records");
        int r = audit_mac(w->keyring, w->prev, e, want);
        if (r < 0)
                return r;
        if (e->mac.size != RECORD_MAC_SIZE || sodium_memcmp(want, e->mac.bytes, RECORD_MAC_SIZE) != 0)
                return verify_fail(w->out, e->seq, "edited, inserted or reordered");

        if (w->out->records++ == 0)
                w->out->first_seq = e->seq;
        w->out->last_seq = e->seq;
        memcpy(w->prev, e->mac.bytes, RECORD_MAC_SIZE);
        w->next_seq++;
        if (strcmp(e->op, AUDIT_PRUNE_OP) == 0 && strcmp(e->result, "ok") == 0)
                w->prune_through = prune_through(e);
        return 0;
}

/* A walk from the anchor: its seq, and its MAC as the previous one. */
static int walk_start(Vault *v, VerifyWalk *w, AuditVerify *out) {
        RecordMac anchor = {};

        *w = (VerifyWalk) { .keyring = v->keyring, .prune_through = -1, .out = out };
        int r = store_audit_anchor_get(v->store, &out->anchor_seq, &anchor);
        if (r == -ENOENT)
                out->anchor_seq = 0;
        else if (r < 0)
                return r;
        else if (anchor.size == RECORD_MAC_SIZE)
                memcpy(w->prev, anchor.bytes, RECORD_MAC_SIZE);
        w->next_seq = out->anchor_seq + 1;
        return 0;
}

/* One walk of the whole table in seq order, a row at a time: it blocks
 * the daemon for as long as it takes, which an admin's rare request may
 * (and prunes keep the table short): about 1.4 s at 350,000 records,
 * during which no one else is served. A break is reported at the first
 * record that does not check, in seq order; the anchor is checked against
 * the prune records once they have all been seen. */
int vault_audit_verify(Vault *v, AuditVerify *ret) {
        AuditVerify out = {};
        VerifyWalk w;

        (void) vault_audit_flush(v); /* as for list: what is written is checked */
        int r = walk_start(v, &w, &out);
        if (r < 0)
                return r;
        r = store_audit_foreach(v->store, INT64_MAX, verify_row, &w);
        if (r >= 0) {
                int64_t end = out.records > 0 ? out.last_seq : out.anchor_seq;
                /* This process wrote further: the newest were cut off. */
                if (end < v->audit_seq)
                        r = verify_fail(&out, end + 1, "missing");
                else if (out.anchor_seq > 0 && w.prune_through != out.anchor_seq)
                        r = verify_fail(&out, out.anchor_seq, "records up to the anchor removed without a prune");
        }
        if (r < 0 && r != -EUCLEAN)
                return r;
        *ret = out;
        return r;
}

/* ---- prune ---- */

/* Whether the anchor is one a prune left: the last prune record names
 * it, as verify checks once it has seen them all. Only that record is
 * read here; its MAC is checked by the walk if it is among the records
 * the prune removes, and otherwise it stays, for verify to check. */
static int anchor_check(Vault *v, AuditVerify *out) {
        AuditEntry last;

        if (out->anchor_seq == 0)
                return 0;
        int r = store_audit_last(v->store, AUDIT_PRUNE_OP, "ok", &last);
        if (r < 0 && r != -ENOENT)
                return r;
        if (r == -ENOENT || prune_through(&last) != out->anchor_seq)
                return verify_fail(out, out->anchor_seq, "records up to the anchor removed without a prune");
        return 0;
}

/* The records a prune removes are checked first, from the anchor through
 * the new anchor: a prune must not erase the evidence that the trail was
 * tampered with, which is only in them. What it keeps is for verify. */
int vault_audit_prune(Vault *v, int64_t before_usec, int64_t *ret_removed, AuditVerify *ret_broken) {
        int64_t through = 0, removed = 0;
        AuditVerify out = {};
        VerifyWalk w;

        /* The prune's own record names the new anchor, in the same commit:
         * without it the anchor could not be told from a forged one. */
        if (v->audit_stage_state != AUDIT_STAGE_WAITING)
                return -EINVAL;
        int r = store_begin(v->store);
        if (r < 0)
                return r;
        r = walk_start(v, &w, &out);
        if (r >= 0)
                r = anchor_check(v, &out);
        if (r >= 0)
                r = store_audit_prune(v->store, before_usec, verify_row, &w, &through, &removed);
        /* -EUCLEAN with no problem: every record before the new anchor
         * checked, and the store found the anchor's own row missing. */
        if (r == -EUCLEAN && !out.problem)
                (void) verify_fail(&out, w.next_seq, "missing");
        if (r >= 0) {
                AuditEntry *e = &v->audit_stage;
                snprintf(e->op, sizeof(e->op), "%s", AUDIT_PRUNE_OP);
                snprintf(e->object, sizeof(e->object), AUDIT_THROUGH "%" PRId64, through);
        }
        r = vault_end(v, r);
        if (r == -EUCLEAN && ret_broken)
                *ret_broken = out;
        if (r < 0)
                return r;
        v->audit_anchor_seq = through;
        *ret_removed = removed;
        return 0;
}
