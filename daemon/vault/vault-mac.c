/* vault-mac.c — what the metadata MACs cover (see vault-internal.h).
 *
 * Owns: the fields of a plugin row, of a token set's state and of a
 * secret's staged version (pending, previous) that the
 * keyring's MAC binds (keyring_mac()), each kind under a label of its own
 * and with the row's identity (plugin name; plugin and user), so that a
 * MAC moved to another row or another kind of row does not check; and the
 * one-time upgrade of rows written before MACs existed, which runs only
 * when the operator asked for it (--trust-metadata-upgrade). Never: MACs
 * a row it has not just written itself, but in that upgrade.
 *
 * What is not covered, and why: a sealed record's version and KEK version
 * are already bound by the envelope's associated data; a secret's or API
 * key's expires_at is never set, and decides nothing; an API key's index
 * row (plugin, lookup hash → user) only proposes a candidate that the
 * user's sealed key must then confirm. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vault-internal.h"

#define PLUGIN_MAC_LABEL "cv plugin v1"
#define TOKEN_MAC_LABEL "cv token v1"
#define STAGE_MAC_LABEL "cv stage v1"

_Static_assert(RECORD_MAC_SIZE == KEYRING_MAC_SIZE, "the store keeps what the keyring computes");

typedef struct Be64 {
        uint8_t b[8];
} Be64;

static MacField field_str(const char *s) {
        return (MacField) { .data = s, .size = s ? strlen(s) : 0 };
}

static MacField field_i64(Be64 *buf, int64_t v) {
        for (int i = 0; i < 8; i++)
                buf->b[i] = (uint8_t) ((uint64_t) v >> (56 - 8 * i));
        return (MacField) { .data = buf->b, .size = sizeof(buf->b) };
}

/* A row's MAC into its RecordMac. */
static int mac_set(const Keyring *k, const MacField *f, size_t n_fields, RecordMac *ret) {
        int r = keyring_mac(k, f, n_fields, ret->bytes);
        if (r < 0)
                return r;
        ret->size = RECORD_MAC_SIZE;
        return 0;
}

#define PLUGIN_MAC_FIELDS 9

/* Every column of the row, the name first. */
static void plugin_fields(const StoredPlugin *p, Be64 ints[static 3], MacField f[static PLUGIN_MAC_FIELDS]) {
        f[0] = field_str(PLUGIN_MAC_LABEL);
        f[1] = field_str(p->name);
        f[2] = field_str(p->domain); /* NULL: unknown, told apart from "" */
        f[3] = field_str(p->auth_type);
        f[4] = field_str(p->auth_public);
        f[5] = field_str(p->scheme == AUTH_SCHEME_BASIC ? "basic" : "bearer");
        f[6] = field_i64(&ints[0], p->version);
        f[7] = field_i64(&ints[1], p->created_at);
        f[8] = field_i64(&ints[2], p->updated_at);
}

int vault_plugin_mac(const Keyring *k, StoredPlugin *p) {
        MacField f[PLUGIN_MAC_FIELDS];
        Be64 ints[3];

        plugin_fields(p, ints, f);
        return mac_set(k, f, PLUGIN_MAC_FIELDS, &p->mac);
}

int vault_plugin_check(const Keyring *k, const StoredPlugin *p) {
        MacField f[PLUGIN_MAC_FIELDS];
        Be64 ints[3];

        plugin_fields(p, ints, f);
        return keyring_mac_check(k, f, PLUGIN_MAC_FIELDS, p->mac.bytes, p->mac.size);
}

#define TOKEN_MAC_FIELDS 9

/* The state as the store reads it back: no expiry and no lease are
 * absent fields, whatever the columns hold in their place. */
static void token_fields(const char *plugin, const char *user, const TokenState *st, Be64 ints[static 4],
                         MacField f[static TOKEN_MAC_FIELDS]) {
        f[0] = field_str(TOKEN_MAC_LABEL);
        f[1] = field_str(plugin);
        f[2] = field_str(user);
        f[3] = field_i64(&ints[0], st->version);
        f[4] = st->has_expires_at ? field_i64(&ints[1], st->expires_at) : (MacField) {};
        f[5] = field_str(st->reauth_required ? "R" : "V"); /* reauth_required or valid */
        f[6] = st->lease_id[0] ? field_str(st->lease_id) : (MacField) {};
        f[7] = field_i64(&ints[2], st->lease_until);
        f[8] = field_i64(&ints[3], st->lease_version);
}

int vault_token_state_mac(const Keyring *k, const char *plugin, const char *user, TokenState *st) {
        MacField f[TOKEN_MAC_FIELDS];
        Be64 ints[4];

        token_fields(plugin, user, st, ints, f);
        return mac_set(k, f, TOKEN_MAC_FIELDS, &st->mac);
}

int vault_token_state_check(const Keyring *k, const char *plugin, const char *user, const TokenState *st) {
        MacField f[TOKEN_MAC_FIELDS];
        Be64 ints[4];

        token_fields(plugin, user, st, ints, f);
        return keyring_mac_check(k, f, TOKEN_MAC_FIELDS, st->mac.bytes, st->mac.size);
}

#define STAGE_MAC_FIELDS 8

/* A staged row: which stage it is, and its deadline, decide whether a
 * value still verifies. The sealed bytes and KEK version are not covered:
 * the envelope binds the bytes to (plugin, name, version) already, and a
 * KEK rewrap changes both without the vault recomputing anything. */
static void stage_fields(const char *plugin, const char *name, const StoredStage *st, Be64 ints[static 4],
                         MacField f[static STAGE_MAC_FIELDS]) {
        f[0] = field_str(STAGE_MAC_LABEL);
        f[1] = field_str(plugin);
        f[2] = field_str(name);
        f[3] = field_str(st->stage == RECORD_STAGE_PREVIOUS ? "previous" : "pending");
        f[4] = field_i64(&ints[0], st->version);
        f[5] = st->stage == RECORD_STAGE_PREVIOUS ? field_i64(&ints[1], st->deadline) : (MacField) {};
        f[6] = field_i64(&ints[2], st->grace);
        f[7] = field_i64(&ints[3], st->created_at);
}

int vault_stage_mac(const Keyring *k, const char *plugin, const char *name, StoredStage *st) {
        MacField f[STAGE_MAC_FIELDS];
        Be64 ints[4];

        stage_fields(plugin, name, st, ints, f);
        return mac_set(k, f, STAGE_MAC_FIELDS, &st->mac);
}

int vault_stage_check(const Keyring *k, const char *plugin, const char *name, const StoredStage *st) {
        MacField f[STAGE_MAC_FIELDS];
        Be64 ints[4];

        stage_fields(plugin, name, st, ints, f);
        return keyring_mac_check(k, f, STAGE_MAC_FIELDS, st->mac.bytes, st->mac.size);
}

/* ---- the upgrade of rows from before MACs ---- */

#define BACKFILL_PAGE 64

typedef struct TokenMacs {
        struct TokenMac {
                char *plugin, *user;
                RecordMac mac;
        } * items;
        size_t n, allocated;
        const Keyring *keyring;
} TokenMacs;

static void token_macs_done(TokenMacs *t) {
        for (size_t i = 0; i < t->n; i++) {
                free(t->items[i].plugin);
                free(t->items[i].user);
        }
        free(t->items);
        *t = (TokenMacs) {};
}

/* The walk may not write: each MAC is kept to be written after it. */
static int token_mac_collect(const char *plugin, const char *user, const TokenState *st, void *userdata) {
        TokenMacs *t = userdata;
        TokenState copy = *st;

        if (t->n == t->allocated) {
                size_t want = t->allocated ? 2 * t->allocated : BACKFILL_PAGE;
                struct TokenMac *grown = realloc(t->items, want * sizeof(*grown));
                if (!grown)
                        return -ENOMEM;
                t->items = grown;
                t->allocated = want;
        }
        int r = vault_token_state_mac(t->keyring, plugin, user, &copy);
        if (r < 0)
                return r;
        struct TokenMac *m = &t->items[t->n];
        *m = (struct TokenMac) { .plugin = strdup(plugin), .user = strdup(user), .mac = copy.mac };
        if (!m->plugin || !m->user) {
                free(m->plugin);
                free(m->user);
                return -ENOMEM;
        }
        t->n++;
        return 0;
}

static int plugins_backfill(Store *s, const Keyring *k, int64_t *ret_n) {
        _cleanup_(freep) char *after = NULL;
        int r;

        *ret_n = 0;
        for (;;) {
                StoredPlugin *page = NULL;
                size_t n = 0;
                r = store_plugin_list(s, after, BACKFILL_PAGE, &page, &n);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < n && r >= 0; i++) {
                        r = vault_plugin_mac(k, &page[i]);
                        if (r >= 0)
                                r = store_plugin_mac_set(s, page[i].name, &page[i].mac);
                        if (r >= 0)
                                (*ret_n)++;
                }
                if (r >= 0 && n > 0) {
                        free(after);
                        after = strdup(page[n - 1].name);
                        if (!after)
                                r = -ENOMEM;
                }
                stored_plugins_free(page, n);
                if (r < 0)
                        return r;
                if (n < BACKFILL_PAGE)
                        return 0;
        }
}

static int tokens_backfill(Store *s, const Keyring *k, int64_t *ret_n) {
        TokenMacs t = { .keyring = k };
        int r = store_token_foreach(s, token_mac_collect, &t);
        for (size_t i = 0; i < t.n && r >= 0; i++)
                r = store_token_mac_set(s, t.items[i].plugin, t.items[i].user, &t.items[i].mac);
        *ret_n = (int64_t) t.n;
        token_macs_done(&t);
        return r;
}

int vault_mac_backfill(Store *s, const Keyring *k, int64_t *ret_plugins, int64_t *ret_tokens) {
        int r = plugins_backfill(s, k, ret_plugins);
        if (r < 0)
                return r;
        return tokens_backfill(s, k, ret_tokens);
}
