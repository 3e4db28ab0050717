/* vault-verify.c — checking every byte of a vault that can be checked
 * (see vault.h, "checking a whole vault"): what `credvaultd
 * --verify-backup` and `--restore` ask of a copy before trusting it.
 *
 * Opening the vault (vault_open()) has already checked the root key and
 * unwrapped the keyring; here every record is opened with its identity
 * as associated data, so that a flipped byte, a value moved to another
 * row or a DEK under a lost KEK are all found, and each plaintext is
 * wiped at once. Never: logs or prints a value. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vault-internal.h"

#define PLUGIN_PAGE 256

typedef struct Walk {
        Vault *v;
        RecordKind kind; /* the AD's kind */
        const char *table;
        int64_t opened, failed;
        char first_failed[128];
        bool stop_at_failure;
        VaultVerify *out;
} Walk;

static int record_open(const char *plugin, const char *name, const StoredRecord *rec, void *userdata) {
        Walk *w = userdata;
        SecretBuf *value = NULL;
        RecordId id = { .kind = w->kind, .plugin = plugin, .name = name, .version = rec->version };

        int r = envelope_open(w->v->keyring, &id, rec->sealed, rec->sealed_size, &value);
        secret_buf_free(value);
        if (r == -ENOMEM)
                return r;
        if (r >= 0) {
                w->opened++;
                return 0;
        }
        if (w->failed++ == 0)
                snprintf(w->first_failed, sizeof(w->first_failed), "%s %s/%s version %" PRId64, w->table, plugin, name,
                         rec->version);
        if (w->stop_at_failure) {
                snprintf(w->out->problem, sizeof(w->out->problem),
                         "%s does not decrypt (altered, moved, or its KEK %" PRId64 " is gone)", w->first_failed,
                         rec->kek_version);
                return -EUCLEAN;
        }
        return 0;
}

static int records_check(Vault *v, VaultVerify *out) {
        static const struct {
                RecordKind kind;
                const char *table;
                size_t offset;
        } kinds[] = {
                { RECORD_SECRET, "secret", offsetof(VaultVerify, secrets) },
                { RECORD_TOKEN, "token set", offsetof(VaultVerify, tokens) },
                { RECORD_APIKEY, "API key", offsetof(VaultVerify, apikeys) },
        };
        for (size_t i = 0; i < ELEMENTSOF(kinds); i++) {
                Walk w = {
                        .v = v, .kind = kinds[i].kind, .table = kinds[i].table, .stop_at_failure = true, .out = out
                };
                int r = store_record_foreach(v->store, kinds[i].kind, record_open, &w);
                *(int64_t *) ((uint8_t *) out + kinds[i].offset) = w.opened;
                if (r < 0)
                        return r;
                /* health and status report the count the writes keep, not
                 * the rows: a copy whose count was edited would report a
                 * wrong number from then on. */
                int64_t kept = -1;
                r = store_record_count(v->store, kinds[i].kind, &kept);
                if (r < 0)
                        return r;
                if (kept != w.opened) {
                        snprintf(out->problem, sizeof(out->problem),
                                 "the %s count says %" PRId64 ", the table holds %" PRId64 " (altered)", kinds[i].table,
                                 kept, w.opened);
                        return -EUCLEAN;
                }
        }
        return 0;
}

/* Tables of sealed values beside the three record tables (staged secret
 * versions, secret_stage): each row is opened as a secret's version of its
 * plugin, name and version. The copy was brought to this build's schema
 * before (a newer one is refused), so every such table is one this build
 * writes: a row that does not open is damage. */
static int others_check(Vault *v, VaultVerify *out) {
        char **tables = NULL;
        size_t n = 0;
        int r = store_sealed_tables(v->store, &tables, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n && r >= 0; i++) {
                Walk w = { .v = v, .kind = RECORD_SECRET, .table = tables[i], .out = out };
                r = store_sealed_foreach(v->store, tables[i], record_open, &w);
                if (r == -EOPNOTSUPP) {
                        r = 0;
                        continue;
                }
                if (r < 0)
                        break;
                out->others += w.opened;
                if (w.failed > 0) {
                        snprintf(out->problem, sizeof(out->problem),
                                 "%" PRId64 " rows of table %s do not decrypt (first: %s)", w.failed, tables[i],
                                 w.first_failed);
                        r = -EUCLEAN;
                }
        }
        for (size_t i = 0; i < n; i++)
                free(tables[i]);
        free(tables);
        return r;
}

/* A pending revocation opens under its own identity (its row id). */
static int revocation_open(const char *plugin, const char *user, const StoredRecord *rec, void *userdata) {
        char name[VAULT_REVOCATION_NAME_SIZE];
        RecordId id;
        vault_revocation_record_id(plugin, user, rec->version, name, &id);
        return record_open(plugin, name, rec, userdata);
}

/* Token sets pending revocation (token_revocation, which others_check()
 * passes over: its rows are a user's, not a name's). */
static int revocations_check(Vault *v, VaultVerify *out) {
        Walk w = { .v = v, .kind = RECORD_TOKEN, .table = "token_revocation", .stop_at_failure = true, .out = out };
        int r = store_revocation_foreach(v->store, revocation_open, &w);
        out->others += w.opened;
        return r;
}

static int plugins_check(Vault *v, VaultVerify *out) {
        char *after = NULL;
        int r;

        for (;;) {
                StoredPlugin *items = NULL;
                size_t n = 0;
                r = store_plugin_list(v->store, after ?: "", PLUGIN_PAGE, &items, &n);
                if (r < 0)
                        break;
                for (size_t i = 0; i < n && r >= 0; i++) {
                        if (vault_plugin_check(v->keyring, &items[i]) < 0) {
                                snprintf(out->problem, sizeof(out->problem),
                                         "plugin %s: its row's MAC does not check (altered)", items[i].name);
                                r = -EUCLEAN;
                        } else
                                out->plugins++;
                }
                free(after);
                after = n > 0 && r >= 0 ? strdup(items[n - 1].name) : NULL;
                bool more = n == PLUGIN_PAGE;
                stored_plugins_free(items, n);
                if (r < 0 || !more)
                        break;
                if (!after) {
                        r = -ENOMEM;
                        break;
                }
        }
        free(after);
        return r;
}

static int token_state_check(const char *plugin, const char *user, const TokenState *st, void *userdata) {
        Walk *w = userdata;
        if (vault_token_state_check(w->v->keyring, plugin, user, st) < 0) {
                snprintf(w->out->problem, sizeof(w->out->problem),
                         "token set %s/%s: its state's MAC does not check (altered)", plugin, user);
                return -EUCLEAN;
        }
        w->out->token_states++;
        return 0;
}

static int stage_row_check(const char *plugin, const char *name, const StoredStage *st, void *userdata) {
        Walk *w = userdata;
        if (vault_stage_check(w->v->keyring, plugin, name, st) < 0) {
                snprintf(w->out->problem, sizeof(w->out->problem),
                         "secret %s/%s: its %s version's row (stage, deadline, grace) fails its MAC (altered)", plugin,
                         name, st->stage == RECORD_STAGE_PREVIOUS ? "previous" : "pending");
                return -EUCLEAN;
        }
        return 0;
}

static int meta_check(Vault *v, VaultVerify *out) {
        int r = vault_meta_mac_check(v->store, v->keyring);
        if (r == -EUCLEAN)
                snprintf(out->problem, sizeof(out->problem),
                         "meta rows recovery_public, recovery_root, previous_key_check, root_rotated_at: their MAC "
                         "does not check (altered: a root key rotation would seal the new key to recovery_public)");
        return r;
}

int vault_verify(Vault *v, VaultVerify *ret) {
        VaultVerify out = { .keks = (int64_t) keyring_size(v->keyring) };
        char problem[200] = "";

        int r = store_integrity_check(v->store, problem, sizeof(problem));
        if (r == -EUCLEAN)
                snprintf(out.problem, sizeof(out.problem), "SQLite integrity check: %s", problem);
        if (r >= 0)
                r = records_check(v, &out);
        if (r >= 0)
                r = meta_check(v, &out);
        if (r >= 0)
                r = others_check(v, &out);
        if (r >= 0)
                r = revocations_check(v, &out);
        if (r >= 0) {
                Walk w = { .v = v, .out = &out };
                r = store_stage_foreach(v->store, stage_row_check, &w);
        }
        if (r >= 0)
                r = plugins_check(v, &out);
        if (r >= 0) {
                Walk w = { .v = v, .out = &out };
                r = store_token_foreach(v->store, token_state_check, &w);
        }
        if (r >= 0) {
                r = vault_audit_verify(v, &out.audit);
                if (r == -EUCLEAN)
                        snprintf(out.problem, sizeof(out.problem), "audit trail: record %" PRId64 ": %s",
                                 out.audit.bad_seq, out.audit.problem);
        }
        *ret = out;
        return r;
}

int vault_database_check(const char *db_path, char *ret_problem, size_t problem_size) {
        _cleanup_(store_closep) Store *s = NULL;

        snprintf(ret_problem, problem_size, "not a database");
        /* The integrity check is the whole of quick_check and more. */
        int r = store_open_checked(db_path, STORE_CHECK_NEVER, NULL, &s);
        if (r >= 0) {
                ret_problem[0] = 0;
                r = store_integrity_check(s, ret_problem, problem_size);
        }
        return r;
}
