/* vault-meta-mac.c — the MAC over the meta rows that direct the root key
 * (see vault-internal.h).
 *
 * Owns: which meta rows are covered and how they are read for the MAC:
 * the recovery key's public half and the root key sealed to it, and what
 * the last root key rotation left (the old key's check value, its time).
 * Why: a root key rotation seals the new root key to whatever
 * recovery_public holds, so a database writer without the root key who
 * put their own public key there would be handed every later root key.
 * The key-check, index-key and MAC-key rows need no MAC: each is checked
 * by the root key itself (a check value, or a wrapping with AD). Never:
 * trusts a covered row the MAC does not vouch for. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vault-internal.h"

#define META_MAC_LABEL "cv meta v1"

static const char *const covered[] = {
        VAULT_META_RECOVERY_PUBLIC,
        VAULT_META_RECOVERY_ROOT,
        VAULT_META_PREVIOUS_KEY_CHECK,
        VAULT_META_ROOT_ROTATED_AT,
};

#define META_MAC_FIELDS (1 + ELEMENTSOF(covered))

typedef struct MetaRows {
        uint8_t *value[ELEMENTSOF(covered)];
        MacField f[META_MAC_FIELDS];
        bool any;
} MetaRows;

static void meta_rows_done(MetaRows *m) {
        for (size_t i = 0; i < ELEMENTSOF(covered); i++)
                free(m->value[i]);
        *m = (MetaRows) {};
}

/* Each row's name is implied by its position; an absent row is an
 * absent field, told apart from an empty one. */
static int meta_rows_read(Store *s, MetaRows *m) {
        *m = (MetaRows) {};
        m->f[0] = (MacField) { .data = META_MAC_LABEL, .size = strlen(META_MAC_LABEL) };
        for (size_t i = 0; i < ELEMENTSOF(covered); i++) {
                size_t size = 0;
                int r = store_meta_get(s, covered[i], &m->value[i], &size);
                if (r == -ENOENT) {
                        m->f[1 + i] = (MacField) {};
                        continue;
                }
                if (r < 0) {
                        meta_rows_done(m);
                        return r;
                }
                m->f[1 + i] = (MacField) { .data = m->value[i], .size = size };
                m->any = true;
        }
        return 0;
}

int vault_meta_mac_update(Store *s, const Keyring *k) {
        uint8_t mac[KEYRING_MAC_SIZE];
        MetaRows m;

        int r = meta_rows_read(s, &m);
        if (r < 0)
                return r;
        r = keyring_mac(k, m.f, META_MAC_FIELDS, mac);
        meta_rows_done(&m);
        if (r < 0)
                return r;
        return store_meta_set(s, VAULT_META_MAC, mac, sizeof(mac));
}

int vault_meta_mac_check(Store *s, const Keyring *k) {
        _cleanup_(freep) uint8_t *mac = NULL;
        size_t mac_size = 0;
        MetaRows m;

        int r = meta_rows_read(s, &m);
        if (r < 0)
                return r;
        r = store_meta_get(s, VAULT_META_MAC, &mac, &mac_size);
        if (r == -ENOENT)
                /* vault_meta_mac_open() made one for every vault: gone,
                 * it was removed, perhaps with the rows it covered (a
                 * recovery key the operator keeps would silently stop
                 * being sealed to). */
                r = -EUCLEAN;
        else if (r >= 0)
                r = keyring_mac_check(k, m.f, META_MAC_FIELDS, mac, mac_size);
        meta_rows_done(&m);
        return r;
}

/* The first schema with the covered rows (root key rotation, the recovery
 * key): a file already at it had its MAC from the start. */
#define META_MAC_SCHEMA_VERSION 7

int vault_meta_mac_open(Store *s, const Keyring *k, int schema_before) {
        _cleanup_(freep) uint8_t *mac = NULL;
        size_t mac_size = 0;
        MetaRows m;

        int r = store_meta_get(s, VAULT_META_MAC, &mac, &mac_size);
        if (r != -ENOENT)
                return r < 0 ? r : vault_meta_mac_check(s, k);
        /* None: a new vault, or one from before the covered rows, may get
         * one now, if it has none of them; a file made since has lost it. */
        if (schema_before >= META_MAC_SCHEMA_VERSION)
                return -EUCLEAN;
        r = meta_rows_read(s, &m);
        if (r < 0)
                return r;
        bool any = m.any;
        meta_rows_done(&m);
        if (any)
                return -EUCLEAN;
        r = store_begin(s);
        if (r < 0)
                return r;
        r = vault_meta_mac_update(s, k);
        if (r >= 0)
                return store_commit(s);
        store_rollback(s);
        return r;
}
