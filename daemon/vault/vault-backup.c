/* vault-backup.c — online backup: the vault's side of it (see vault.h).
 *
 * The copy itself is the store's (SQLite's backup API, ciphertext and
 * wrapped keys only: the file as it is); the vault adds what makes the
 * copy complete: the audit records waiting in the batch are written
 * first, so the copy holds the trail up to the moment it was asked for. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "vault-internal.h"

struct VaultBackup {
        StoreBackup *copy;
};

int vault_backup_start(Vault *v, int fd, VaultBackup **ret) {
        VaultBackup *b = calloc(1, sizeof(VaultBackup));
        if (!b) {
                close(fd);
                return -ENOMEM;
        }
        /* Best effort: a trail that cannot be written fails closed
         * elsewhere; the backup copies what is committed. */
        (void) vault_audit_flush(v);
        int r = store_backup_begin(v->store, fd, &b->copy);
        if (r < 0) {
                free(b);
                return r;
        }
        *ret = b;
        return 0;
}

int vault_backup_step(VaultBackup *b, unsigned n_pages) {
        return store_backup_step(b->copy, n_pages);
}

void vault_backup_progress(const VaultBackup *b, VaultBackupInfo *ret) {
        StoreBackupInfo i;
        store_backup_info(b->copy, &i);
        *ret = (VaultBackupInfo) {
                .pages = i.pages,
                .pages_done = i.pages_done,
                .records = i.records,
                .bytes = i.bytes,
                .bytes_done = i.bytes_done,
                .copying_file = i.copying_file,
        };
}

void vault_backup_free(VaultBackup *b) {
        if (!b)
                return;
        store_backup_free(b->copy);
        free(b);
}

int vault_backup_clean(const char *db_path) {
        return store_backup_clean(db_path);
}

int vault_checkpoint_file(const char *db_path) {
        return store_checkpoint_file(db_path);
}
