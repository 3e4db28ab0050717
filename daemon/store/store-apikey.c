/* store-apikey.c — the lookup index of user API keys.
 *
 * A presented key is found by its keyed hash (the key derived from the
 * keyring, see keyring_index_key()), so a lookup reads one row and never
 * decrypts or scans the other users' keys. The index holds no key: only
 * the hash, useless without the index key. Rows go with their key (a
 * trigger on apikey). */
#include <errno.h>
#include <stdlib.h>

#include "store-internal.h"

int store_apikey_index_put(Store *s, const char *plugin, const char *user, const uint8_t lookup[static 32]) {
        sqlite3_stmt *st;
        int r = store_cached(s, CACHED_APIKEY_INDEX_PUT,
                             "INSERT INTO apikey_lookup(plugin, lookup, user) VALUES(?1, ?2, ?3) "
                             "ON CONFLICT(plugin, user) DO UPDATE SET lookup = excluded.lookup",
                             &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, plugin, -1, SQLITE_STATIC);
        sqlite3_bind_blob(st, 2, lookup, APIKEY_LOOKUP_SIZE, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, user, -1, SQLITE_STATIC);
        return store_step_done(st); /* a key another user has: constraint → -EEXIST */
}

int store_apikey_index_find(Store *s, const char *plugin, const uint8_t lookup[static 32], char **ret_user) {
        sqlite3_stmt *st;
        int r = store_cached(s, CACHED_APIKEY_INDEX_FIND,
                             "SELECT user FROM apikey_lookup WHERE plugin = ?1 AND lookup = ?2", &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, plugin, -1, SQLITE_STATIC);
        sqlite3_bind_blob(st, 2, lookup, APIKEY_LOOKUP_SIZE, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
                r = store_column_strdup(st, 0, ret_user);
        else
                r = rc == SQLITE_DONE ? -ENOENT : (store_errno_from_sqlite(rc) ?: -EIO);
        store_stmt_finish(st);
        return r;
}
