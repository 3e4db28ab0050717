/* store-cache.c — recently read records, kept in memory.
 *
 * Owns: a small direct-mapped cache of sealed records (ciphertext and
 * metadata, exactly what the row holds: never a key or a plaintext), and
 * of token sets' refresh state, so a hot secret.get or token.get skips
 * SQLite. It is correct because the daemon is the database's only user
 * (locking_mode=EXCLUSIVE) and every write path drops the entry first:
 * store_record_put() and store_record_delete() drop theirs, the token
 * state writers of store-token.c theirs, store_plugin_delete_all()
 * everything. A rolled-back write has dropped its entry too, and nothing
 * is cached while a transaction is open (its reads may see its own
 * writes), so the cache only ever misses, never lies. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "store-internal.h"

#define CACHE_SLOTS 1024           /* a power of two */
#define CACHE_SEALED_SIZE_MAX 4096 /* bigger records are read from SQLite */

typedef struct CacheSlot {
        bool used;
        RecordKind kind;
        char plugin[NAME_SIZE_MAX + 1];
        char name[USER_ID_SIZE_MAX + 1];
        bool has_record;
        StoredRecord rec; /* sealed is owned by the slot */
        bool has_token_state;
        TokenState token_state;
} CacheSlot;

struct StoreCache {
        CacheSlot slots[CACHE_SLOTS];
};

static CacheSlot *slot_of(StoreCache *c, RecordKind kind, const char *plugin, const char *name) {
        /* Over kind, plugin, NUL, name; folded, since the low bits alone
         * of names that differ only in digits crowd a few slots. */
        uint64_t h = hash_fnv1a_string(HASH_FNV1A_INIT ^ (uint64_t) kind, plugin);
        h = hash_fnv1a_string(hash_fnv1a_update(h, "", 1), name);
        return &c->slots[hash_fold(h) & (CACHE_SLOTS - 1)];
}

static bool slot_is(const CacheSlot *s, RecordKind kind, const char *plugin, const char *name) {
        return s->used && s->kind == kind && strcmp(s->plugin, plugin) == 0 && strcmp(s->name, name) == 0;
}

static void slot_clear(CacheSlot *s) {
        free(s->rec.sealed);
        *s = (CacheSlot) {};
}

/* The slot for this key, emptied if it held another. */
static CacheSlot *slot_claim(StoreCache *c, RecordKind kind, const char *plugin, const char *name) {
        CacheSlot *s = slot_of(c, kind, plugin, name);
        if (slot_is(s, kind, plugin, name))
                return s;
        slot_clear(s);
        s->used = true;
        s->kind = kind;
        strcpy(s->plugin, plugin);
        strcpy(s->name, name);
        return s;
}

StoreCache *store_cache_new(void) {
        return calloc(1, sizeof(StoreCache));
}

void store_cache_free(StoreCache *c) {
        if (!c)
                return;
        store_cache_clear(c);
        free(c);
}

void store_cache_clear(StoreCache *c) {
        for (size_t i = 0; i < CACHE_SLOTS; i++)
                if (c->slots[i].used)
                        slot_clear(&c->slots[i]);
}

int store_cache_get(StoreCache *c, RecordKind kind, const char *plugin, const char *name, StoredRecord *ret) {
        CacheSlot *s = slot_of(c, kind, plugin, name);
        if (!slot_is(s, kind, plugin, name) || !s->has_record)
                return -ENOENT;
        uint8_t *sealed = malloc(s->rec.sealed_size);
        if (!sealed)
                return -ENOMEM;
        memcpy(sealed, s->rec.sealed, s->rec.sealed_size);
        *ret = s->rec;
        ret->sealed = sealed;
        return 0;
}

void store_cache_put(StoreCache *c, RecordKind kind, const char *plugin, const char *name, const StoredRecord *rec) {
        if (rec->sealed_size > CACHE_SEALED_SIZE_MAX || strlen(plugin) > NAME_SIZE_MAX ||
            strlen(name) > USER_ID_SIZE_MAX)
                return;
        uint8_t *sealed = malloc(rec->sealed_size);
        if (!sealed)
                return; /* a cache may always forget */
        memcpy(sealed, rec->sealed, rec->sealed_size);
        CacheSlot *s = slot_claim(c, kind, plugin, name);
        free(s->rec.sealed);
        s->rec = *rec;
        s->rec.sealed = sealed;
        s->rec.plugin = s->rec.name = NULL;
        s->has_record = true;
}

int store_cache_get_token_state(StoreCache *c, const char *plugin, const char *user, TokenState *ret) {
        CacheSlot *s = slot_of(c, RECORD_TOKEN, plugin, user);
        if (!slot_is(s, RECORD_TOKEN, plugin, user) || !s->has_token_state)
                return -ENOENT;
        *ret = s->token_state;
        return 0;
}

void store_cache_put_token_state(StoreCache *c, const char *plugin, const char *user, const TokenState *st) {
        if (strlen(plugin) > NAME_SIZE_MAX || strlen(user) > USER_ID_SIZE_MAX)
                return;
        CacheSlot *s = slot_claim(c, RECORD_TOKEN, plugin, user);
        s->token_state = *st;
        s->has_token_state = true;
}

void store_cache_drop(StoreCache *c, RecordKind kind, const char *plugin, const char *name) {
        CacheSlot *s = slot_of(c, kind, plugin, name);
        if (slot_is(s, kind, plugin, name))
                slot_clear(s);
}
