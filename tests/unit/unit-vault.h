/* unit-vault.h — fixtures for the vault's tests.
 *
 * Owns: a temporary directory with a vault opened through vault_open()
 * under a random root key (kept by the fixture, so a test can reopen it,
 * or try another), JSON from readable test text, and the checks of what a
 * database file holds. Never: reaches under vault.h (no store, no
 * keyring): a vault test sees what ops/ sees, plus the file itself, which
 * it reads or alters only while the vault is closed, as someone with
 * access to the file could. Include after cmocka.h. */
#pragma once

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "json-wipe.h"
#include "proto-limits.h"
#include "unit-util.h"
#include "vault.h"

/* rootkey.h's ROOT_KEY_SIZE: vault_open() takes a key of this size. */
#define TEST_ROOT_KEY_SIZE 32

typedef struct VaultFixture {
        char *dir;
        char *db_path;
        Vault *vault;
        uint8_t root[TEST_ROOT_KEY_SIZE];
        VaultOpenFlags open_flags; /* what every open of the fixture passes */
        VaultOpenResult opened;    /* what the last open said */
} VaultFixture;

/* A root key in sodium_malloc memory, as vault_open() takes it. */
static inline uint8_t *root_key_dup(const uint8_t key[static TEST_ROOT_KEY_SIZE]) {
        uint8_t *k = sodium_malloc(TEST_ROOT_KEY_SIZE);
        if (k)
                memcpy(k, key, TEST_ROOT_KEY_SIZE);
        return k;
}

/* vault_open() of the fixture's file under root, with the fixture's
 * flags (ret_step optional; f->opened gets the whole result). */
static inline int vault_fixture_open_with(VaultFixture *f, const uint8_t root[static TEST_ROOT_KEY_SIZE],
                                          VaultOpenStep *ret_step) {
        uint8_t *key = root_key_dup(root);
        f->opened = (VaultOpenResult) {};
        if (!key)
                return -ENOMEM;
        int r = vault_open(f->db_path, key, f->open_flags, &f->vault, &f->opened);
        if (ret_step)
                *ret_step = f->opened.step;
        return r;
}

static inline void vault_fixture_close_db(VaultFixture *f) {
        vault_free(f->vault);
        f->vault = NULL;
}

/* Close and reopen under the fixture's root key. */
static inline int vault_fixture_reopen(VaultFixture *f) {
        vault_fixture_close_db(f);
        return vault_fixture_open_with(f, f->root, NULL);
}

/* A temp dir, a random root key, and a new vault at dir/db. */
static inline int vault_fixture_open(VaultFixture *f) {
        *f = (VaultFixture) {};
        f->dir = tmpdir_new();
        if (!f->dir)
                return -errno;
        f->db_path = path_join(f->dir, "db");
        if (!f->db_path)
                return -ENOMEM;
        randombytes_buf(f->root, sizeof(f->root));
        return vault_fixture_open_with(f, f->root, NULL);
}

static inline void vault_fixture_close(VaultFixture *f) {
        vault_fixture_close_db(f);
        free(f->db_path);
        tmpdir_remove(f->dir);
        sodium_memzero(f->root, sizeof(f->root));
        *f = (VaultFixture) {};
}

/* cmocka setup and teardown for a VaultFixture in *state. */
static inline int setup_vault(void **state) {
        VaultFixture *f = calloc(1, sizeof(VaultFixture));
        *state = f;
        return f && vault_fixture_open(f) >= 0 ? 0 : -1;
}

/* A fixture with its directory and a root key but no vault yet. */
static inline int setup_vault_dir(void **state) {
        VaultFixture *f = calloc(1, sizeof(VaultFixture));
        *state = f;
        if (!f || !(f->dir = tmpdir_new()) || !(f->db_path = path_join(f->dir, "db")))
                return -1;
        randombytes_buf(f->root, sizeof(f->root));
        return 0;
}

/* Runs even when a test fails: the temp dir never outlives the test. */
static inline int teardown_vault(void **state) {
        if (*state)
                vault_fixture_close(*state);
        free(*state);
        return 0;
}

/* The process's setup, as the daemon's: libsodium, and jansson's wiping
 * allocator (vault-plugin.c relies on it being the one installed). */
static inline int unit_vault_init(void) {
        if (sodium_init() < 0)
                return -1;
        json_wipe_install();
        return 0;
}

/* JSON from test text written with ' for ". */
static inline json_t *json_quote(const char *text) {
        char *s = strdup(text);
        json_error_t e;

        assert_non_null(s);
        for (char *p = s; *p; p++)
                if (*p == '\'')
                        *p = '"';
        json_t *j = json_loads(s, JSON_REJECT_DUPLICATES, &e);
        if (!j)
                fail_msg("test JSON does not parse (%s): %s", e.text, s);
        free(s);
        return j;
}

/* A SecretBuf's bytes are want. */
static inline void assert_secret_equal(const SecretBuf *b, const void *want, size_t want_size) {
        assert_non_null(b);
        if (b->size != want_size || (want_size > 0 && memcmp(b->data, want, want_size) != 0))
                fail_msg("value of %zu bytes '%.*s', want %zu bytes '%.*s'", b->size, (int) b->size,
                         (const char *) b->data, want_size, (int) want_size, (const char *) want);
        assert_int_equal(b->data[b->size], 0); /* NUL after, not counted */
}

/* Register plugin (no domain) with a service_http auth block of this
 * authorization_type ("bearer" or "basic"), as plugin.register would. */
static inline void register_scheme(Vault *v, const char *plugin, const char *authorization_type) {
        char text[256], err[ERROR_MESSAGE_SIZE_MAX];
        ManifestAuth auth;
        StoredPlugin p = {};
        const char *name = NULL;
        char domain[DOMAIN_SIZE_MAX + 1];

        snprintf(text, sizeof(text), "{'type':'service_http','authorization_type':'%s'}", authorization_type);
        json_t *m = json_quote(text);
        assert_int_equal(manifest_parse(m, &auth, &name, domain, sizeof(domain), err, sizeof(err)), 0);
        int r = vault_plugin_register(v, plugin, NULL, &auth, &p, NULL);
        if (r != 0)
                fail_msg("register %s: %d", plugin, r);
        stored_plugin_done(&p);
        json_decref(m);
}

/* Whether the file (and its -wal, if any) holds the bytes. */
static inline bool file_contains(const char *path, const void *needle, size_t size) {
        uint8_t *data = NULL;
        size_t n = 0;
        if (file_read_all(path, &data, &n) < 0)
                return false;
        bool found = memmem(data, n, needle, size) != NULL;
        free(data);
        return found;
}

static inline bool db_files_contain(const char *db_path, const char *needle) {
        char *wal = NULL;
        assert_true(asprintf(&wal, "%s-wal", db_path) >= 0);
        bool found = file_contains(db_path, needle, strlen(needle)) || file_contains(wal, needle, strlen(needle));
        free(wal);
        return found;
}

static inline int64_t now_s(void) {
        return (int64_t) time(NULL);
}

static inline int64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
