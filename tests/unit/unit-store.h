/* unit-store.h — fixtures for the store's tests.
 *
 * Owns: a temporary directory with a real, migrated database (store_open +
 * store_migrate), KEK rows for records to name, and record helpers. Never:
 * replaces the store, or needs libsodium: a store test links libcv-store
 * only, as the store itself does, so nothing here holds a key or a
 * plaintext (the "sealed" bytes are whatever the test chooses). Include
 * after cmocka.h. */
#pragma once

#include "store.h"
#include "unit-util.h"

typedef struct Fixture {
        char *dir;
        char *db_path;
        Store *store;
} Fixture;

/* The store never looks inside a wrapped KEK; this is the size the
 * keyring's are. */
#define TEST_WRAPPED_SIZE 72

/* A temp dir and an open, migrated store at dir/db. */
static inline int fixture_open_store(Fixture *f) {
        int r;

        *f = (Fixture) {};
        f->dir = tmpdir_new();
        if (!f->dir)
                return -errno;
        f->db_path = path_join(f->dir, "db");
        if (!f->db_path)
                return -ENOMEM;
        r = store_open(f->db_path, &f->store);
        if (r < 0)
                return r;
        return store_migrate(f->store);
}

/* fixture_open_store() with KEK rows 1 (active) and 2 (primary), which
 * records reference. */
static inline int fixture_open_with_keks(Fixture *f) {
        uint8_t wrapped[TEST_WRAPPED_SIZE] = { 0 };
        int r = fixture_open_store(f);
        if (r >= 0)
                r = store_kek_insert(f->store, 1, false, wrapped, sizeof(wrapped));
        if (r >= 0)
                r = store_kek_insert(f->store, 2, true, wrapped, sizeof(wrapped));
        return r;
}

/* Close the database, keep the directory. */
static inline void fixture_close_db(Fixture *f) {
        store_close(f->store);
        f->store = NULL;
}

/* Close and reopen (and migrate, a no-op) the database. */
static inline int fixture_reopen(Fixture *f) {
        fixture_close_db(f);
        int r = store_open(f->db_path, &f->store);
        return r < 0 ? r : store_migrate(f->store);
}

static inline void fixture_close(Fixture *f) {
        fixture_close_db(f);
        free(f->db_path);
        tmpdir_remove(f->dir);
        *f = (Fixture) {};
}

/* cmocka setup and teardown for a Fixture in *state. */
static inline int setup_empty(void **state) {
        *state = calloc(1, sizeof(Fixture));
        return *state ? 0 : -1;
}

static inline int setup_store(void **state) {
        Fixture *f = calloc(1, sizeof(Fixture));
        *state = f;
        return f && fixture_open_with_keks(f) >= 0 ? 0 : -1;
}

/* Runs even when a test fails: the temp dir never outlives the test. */
static inline int teardown(void **state) {
        if (*state)
                fixture_close(*state);
        free(*state);
        return 0;
}

/* Put a record of KEK 1 whose "sealed" bytes are the string given. */
static inline void put_record(Store *s, RecordKind kind, const char *plugin, const char *name, int64_t version,
                              int64_t updated_at, const char *sealed) {
        StoredRecord rec = {
                .version = version,
                .kek_version = 1,
                .sealed = (uint8_t *) sealed,
                .sealed_size = strlen(sealed),
                .updated_at = updated_at,
        };
        int r = store_record_put(s, kind, plugin, name, &rec);
        if (r != 0)
                fail_msg("put %s/%s: %d", plugin, name, r);
}

/* The record's sealed bytes are want (NULL: the record is absent). */
static inline void assert_sealed(Store *s, RecordKind kind, const char *plugin, const char *name, const char *want) {
        StoredRecord rec = {};
        int r = store_record_get(s, kind, plugin, name, &rec);
        if (!want) {
                if (r != -ENOENT)
                        fail_msg("%s/%s: want -ENOENT, got %d", plugin, name, r);
                return;
        }
        if (r != 0)
                fail_msg("%s/%s: want '%s', got %d", plugin, name, want, r);
        bool same = rec.sealed_size == strlen(want) && memcmp(rec.sealed, want, rec.sealed_size) == 0;
        char got[64];
        snprintf(got, sizeof(got), "%.*s", (int) rec.sealed_size, (const char *) rec.sealed);
        stored_record_done(&rec);
        if (!same)
                fail_msg("%s/%s: want '%s', got '%s'", plugin, name, want, got);
}

/* A small deterministic generator (xorshift64*), where a test wants bytes
 * that look random but needs no cryptographic quality. */
static inline void bytes_noise(uint8_t *p, size_t n, uint64_t seed) {
        uint64_t x = seed | 1;
        for (size_t i = 0; i < n; i++) {
                x ^= x >> 12;
                x ^= x << 25;
                x ^= x >> 27;
                p[i] = (uint8_t) ((x * 0x2545F4914F6CDD1DULL) >> 56);
        }
}
