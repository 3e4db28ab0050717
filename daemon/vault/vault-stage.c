/* vault-stage.c — rotation with overlap: a secret's pending, current and
 * previous versions (see vault.h).
 *
 * Owns: what the stages mean: a pending version is staged (rotate) and
 * made current in one transaction (promote), which turns the current one
 * into the previous one until its deadline; a previous version past its
 * deadline counts as gone at once, and the sweep deletes it. Never: opens
 * a value to move it: a version's sealed blob is bound to (kind, plugin,
 * name, version), not to its stage, so promotion moves the bytes as they
 * are; versions are unique across the stages so no identity is used
 * twice.
 *
 * Each staged row carries a MAC (vault-mac.c) over its stage, deadline and
 * grace, which decide whether a value verifies: written with the row,
 * checked on every read here; a row that fails it is -EUCLEAN, never used.
 *
 * The current version stays in the record table, where secret.get reads
 * it as it did before stages existed; the others are found only by the
 * calls here, and the vault remembers whether any previous version
 * exists, so that secret.verify looks for one only then. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vault-internal.h"

int vault_stage_refresh(Vault *v) {
        int64_t n = 0, next = 0;
        int r = store_stage_summary(v->store, &n, &next);
        if (r < 0) {
                /* Unknown: assume there are some, so that a previous
                 * version is looked for rather than missed. */
                v->stage_n_previous = 1;
                return r;
        }
        v->stage_n_previous = n;
        v->stage_next_deadline = next;
        return 0;
}

int64_t vault_secret_next_deadline(const Vault *v) {
        return v->stage_next_deadline;
}

static int stage_open(Vault *v, const char *plugin, const char *name, const StoredStage *st, SecretBuf **ret_value) {
        RecordId id = { .kind = RECORD_SECRET, .plugin = plugin, .name = name, .version = st->version };
        return envelope_open(v->keyring, &id, st->sealed, st->sealed_size, ret_value);
}

/* A staged row read from the store: its stage, deadline and grace decide
 * whether a value verifies, so a row whose MAC does not check (one edited
 * in a copy without the root key) is never used. */
static int stage_get(Vault *v, const char *plugin, const char *name, RecordStage stage, StoredStage *ret) {
        int r = store_stage_get(v->store, plugin, name, stage, ret);
        if (r < 0)
                return r;
        if (vault_stage_check(v->keyring, plugin, name, ret) < 0) {
                stored_stage_done(ret);
                return -EUCLEAN;
        }
        return 0;
}

/* A previous version counts only before its deadline, whether or not
 * the sweep has deleted it yet. */
static bool stage_valid(const StoredStage *st, int64_t now) {
        return st->stage != RECORD_STAGE_PREVIOUS || now < st->deadline;
}

int vault_stage_previous_open(Vault *v, const char *plugin, const char *name, int64_t now, SecretBuf **ret_value,
                              int64_t *ret_version) {
        StoredStage st = {};

        if (v->stage_n_previous == 0)
                return -ENOENT;
        int r = stage_get(v, plugin, name, RECORD_STAGE_PREVIOUS, &st);
        if (r >= 0 && !stage_valid(&st, now))
                r = -ENOENT;
        if (r >= 0)
                r = stage_open(v, plugin, name, &st, ret_value);
        if (r >= 0 && ret_version)
                *ret_version = st.version;
        stored_stage_done(&st);
        return r;
}

int vault_secret_rotate(Vault *v, const char *plugin, const char *name, const uint8_t *value, size_t size,
                        size_t n_bytes, int64_t grace, SecretBuf **ret_value, StoredStage *ret_meta) {
        _cleanup_(secret_buf_freep) SecretBuf *generated = NULL;
        _cleanup_(freep) uint8_t *sealed = NULL;
        StoredStage st = { .stage = RECORD_STAGE_PENDING, .grace = grace };
        int64_t max = 0;
        int r;

        if (!value) {
                r = vault_secret_text_generate(n_bytes, &generated);
                if (r < 0)
                        return r;
                value = generated->data;
                size = generated->size;
        }
        r = store_begin(v->store);
        if (r < 0)
                return r;
        /* Above the pending version it replaces too. */
        r = store_secret_version_max(v->store, plugin, name, &max);
        if (r >= 0) {
                RecordId id = { .kind = RECORD_SECRET, .plugin = plugin, .name = name, .version = max + 1 };
                r = envelope_seal(v->keyring, &id, value, size, &sealed, &st.sealed_size, &st.kek_version);
                st.version = id.version;
        }
        if (r >= 0) {
                st.sealed = sealed;
                st.created_at = time(NULL);
                r = vault_stage_mac(v->keyring, plugin, name, &st);
        }
        if (r >= 0)
                r = store_stage_put(v->store, plugin, name, &st);
        r = vault_end(v, r);
        if (r < 0)
                return r;
        if (ret_meta) {
                *ret_meta = st;
                ret_meta->sealed = NULL;
                ret_meta->sealed_size = 0;
        }
        if (ret_value)
                *ret_value = TAKE_PTR(generated);
        return 0;
}

static int promote_locked(Vault *v, const char *plugin, const char *name, int64_t grace, VaultPromoted *ret) {
        StoredStage pending = {}, previous = { .stage = RECORD_STAGE_PREVIOUS };
        StoredRecord current = {};
        int64_t now = time(NULL);
        bool has_current;

        int r = stage_get(v, plugin, name, RECORD_STAGE_PENDING, &pending);
        if (r < 0)
                return r;
        if (grace < 0)
                grace = pending.grace;
        *ret = (VaultPromoted) { .version = pending.version, .grace = grace };

        r = store_record_get(v->store, RECORD_SECRET, plugin, name, &current);
        has_current = r >= 0;
        if (r == -ENOENT)
                r = 0;
        /* The one before the current one has had its overlap: it goes. */
        if (r >= 0) {
                r = store_stage_delete(v->store, plugin, name, RECORD_STAGE_PREVIOUS);
                if (r == -ENOENT)
                        r = 0;
        }
        if (r >= 0 && has_current) {
                previous.version = current.version;
                previous.kek_version = current.kek_version;
                previous.sealed = current.sealed;
                previous.sealed_size = current.sealed_size;
                previous.created_at = current.updated_at;
                previous.grace = grace;
                previous.deadline = now + grace;
                r = vault_stage_mac(v->keyring, plugin, name, &previous);
                if (r >= 0)
                        r = store_stage_put(v->store, plugin, name, &previous);
                ret->previous_version = previous.version;
                ret->previous_deadline = previous.deadline;
        }
        if (r >= 0) {
                /* store_record_put() drops the cached current version. */
                StoredRecord rec = {
                        .version = pending.version,
                        .kek_version = pending.kek_version,
                        .sealed = pending.sealed,
                        .sealed_size = pending.sealed_size,
                        .updated_at = now,
                };
                r = store_record_put(v->store, RECORD_SECRET, plugin, name, &rec);
        }
        if (r >= 0)
                r = store_stage_delete(v->store, plugin, name, RECORD_STAGE_PENDING);
        stored_stage_done(&pending);
        stored_record_done(&current);
        return r;
}

int vault_secret_promote(Vault *v, const char *plugin, const char *name, int64_t grace, VaultPromoted *ret) {
        VaultPromoted p = {};
        int r = store_begin(v->store);
        if (r < 0)
                return r;
        r = vault_end(v, promote_locked(v, plugin, name, grace, &p));
        (void) vault_stage_refresh(v);
        if (r < 0)
                return r;
        *ret = p;
        return 0;
}

int vault_secret_get_stage(Vault *v, const char *plugin, const char *name, RecordStage stage, SecretBuf **ret_value,
                           StoredStage *ret_meta) {
        StoredStage st = {};

        if (stage != RECORD_STAGE_PENDING && stage != RECORD_STAGE_PREVIOUS)
                return -EINVAL;
        int r = stage_get(v, plugin, name, stage, &st);
        if (r >= 0 && !stage_valid(&st, time(NULL)))
                r = -ENOENT;
        if (r >= 0)
                r = stage_open(v, plugin, name, &st, ret_value);
        free(st.sealed);
        st.sealed = NULL;
        st.sealed_size = 0;
        if (r >= 0 && ret_meta)
                *ret_meta = st;
        return r;
}

int vault_secret_history(Vault *v, const char *plugin, const char *name, StoredStage ret[static 3], size_t *ret_n) {
        StoredRecord current = {};
        int64_t now = time(NULL);
        size_t n = 0;

        int r = stage_get(v, plugin, name, RECORD_STAGE_PENDING, &ret[n]);
        if (r >= 0) {
                free(TAKE_PTR(ret[n].sealed));
                ret[n++].sealed_size = 0;
        } else if (r != -ENOENT)
                return r;
        r = store_record_get(v->store, RECORD_SECRET, plugin, name, &current);
        if (r >= 0) {
                ret[n++] = (StoredStage) {
                        .stage = RECORD_STAGE_CURRENT,
                        .version = current.version,
                        .kek_version = current.kek_version,
                        .created_at = current.updated_at,
                };
                stored_record_done(&current);
        } else if (r != -ENOENT)
                return r;
        r = stage_get(v, plugin, name, RECORD_STAGE_PREVIOUS, &ret[n]);
        if (r >= 0) {
                free(TAKE_PTR(ret[n].sealed));
                ret[n].sealed_size = 0;
                if (stage_valid(&ret[n], now))
                        n++;
        } else if (r != -ENOENT)
                return r;
        if (n == 0)
                return -ENOENT;
        *ret_n = n;
        return 0;
}

int vault_secret_sweep(Vault *v, int64_t now, unsigned limit, const AuditEntry *tmpl, AuditEntry **ret_entries,
                       size_t *ret_n) {
        StoredRecordRef *refs = NULL;
        _cleanup_(freep) AuditEntry *entries = NULL;
        size_t n = 0, done = 0;

        *ret_entries = NULL;
        *ret_n = 0;
        if (v->stage_next_deadline == 0 || v->stage_next_deadline > now)
                return 0;
        int r = store_stage_expired(v->store, now, limit, &refs, &n);
        if (r < 0)
                return r;
        entries = calloc(n ?: 1, sizeof(AuditEntry));
        if (!entries) {
                stored_record_refs_free(refs, n);
                return -ENOMEM;
        }
        /* One transaction each, its record staged so that it commits with
         * the delete (as a request's record does): few rows expire at
         * once, and each removal is then on its own in the trail. */
        for (size_t i = 0; i < n; i++) {
                AuditEntry *e = &entries[done];
                *e = *tmpl;
                e->time_usec = now * 1000000;
                snprintf(e->plugin, sizeof(e->plugin), "%s", refs[i].plugin);
                snprintf(e->object, sizeof(e->object), "%s", refs[i].name);
                vault_audit_stage(v, e);
                r = store_begin(v->store);
                if (r >= 0) {
                        int q = store_stage_delete(v->store, refs[i].plugin, refs[i].name, RECORD_STAGE_PREVIOUS);
                        r = vault_end(v, q == -ENOENT ? 0 : q);
                }
                if (r < 0) {
                        snprintf(e->result, sizeof(e->result), "%s", "internal");
                        (void) vault_audit_add(v, e);
                        break;
                }
                snprintf(e->result, sizeof(e->result), "%s", "ok");
                (void) vault_audit_add(v, e); /* ends the stage: the commit took it */
                done++;
        }
        stored_record_refs_free(refs, n);
        int q = vault_stage_refresh(v);
        if (r >= 0 && q < 0)
                r = q;
        *ret_entries = done > 0 ? TAKE_PTR(entries) : NULL;
        *ret_n = done;
        return r;
}
