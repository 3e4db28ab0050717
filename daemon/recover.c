/* recover.c — the recovery key outside the serving loop (see recover.h).
 *
 * --recover opens the vault the way a start does (state directory, its
 * lock, the database files), but with the root key the recovery key
 * unseals, checked against the key-check value like any other; then it
 * rotates the root key to the new one in one transaction, as
 * key.rotate_root does. A wrong recovery key, or any failure before the
 * commit, leaves every file as it was. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hardening.h"
#include "log.h"
#include "macro.h"
#include "recover.h"
#include "rootkey.h"
#include "startup.h"

/* Longest recovery key text read from stdin: the 69 symbols and dashes
 * with room for spaces and a newline a person may add. */
#define RECOVERY_INPUT_SIZE_MAX 256

/* Up to RECOVERY_INPUT_SIZE_MAX bytes of stdin into locked memory. */
static int recovery_input_read(char **ret, size_t *ret_size) {
        char *buf = sodium_malloc(RECOVERY_INPUT_SIZE_MAX + 1);
        size_t n = 0;

        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t k = read(STDIN_FILENO, buf + n, RECOVERY_INPUT_SIZE_MAX + 1 - n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        int r = negative_errno();
                        sodium_free(buf);
                        return r;
                }
                if (k == 0)
                        break;
                n += (size_t) k;
                if (n > RECOVERY_INPUT_SIZE_MAX) {
                        sodium_free(buf);
                        return -E2BIG;
                }
        }
        *ret = buf;
        *ret_size = n;
        return 0;
}

static int recovery_unseal_failed(int r, const char *db_path) {
        switch (r) {
        case -E2BIG:
        case -EBADMSG:
                log_error("what stdin holds is not a recovery key: it is 14 groups of 4 symbols (0-9 and A-Z but I, "
                          "L, O and U), joined by '-'; nothing was changed");
                return EXIT_WRONG_KEY;
        case -EILSEQ:
                log_error("the recovery key has a typo: its checksum (the last group) does not match the other "
                          "groups; check each group against the copy you keep; nothing was changed");
                return EXIT_WRONG_KEY;
        case -EKEYREJECTED:
                log_error("the recovery key is well formed but is not the recovery key of database %s (another "
                          "vault's, or one replaced since); nothing was changed",
                          db_path);
                return EXIT_WRONG_KEY;
        case -ENOENT:
                log_error("database %s has no recovery key (none was made with --recovery-key-file or credvault "
                          "key recovery-key); it cannot be recovered without its root key",
                          db_path);
                return EXIT_NO_KEY;
        case -EUCLEAN:
                log_error("the root key sealed to the recovery key in database %s fails authentication (damaged or "
                          "altered); restore the database from a backup",
                          db_path);
                return EXIT_CORRUPT;
        default:
                log_error("cannot open the recovery key of database %s: %s", db_path, strerror(-r));
                return EXIT_STATE_DIR;
        }
}

/* Whether the new root key is the development key: --dev, and neither
 * --root-key-file nor the systemd credential (root_key_load()'s order). */
static bool new_key_is_dev(const Options *o) {
        const char *creds = getenv("CREDENTIALS_DIRECTORY");
        char path[PATH_MAX];
        struct stat st;

        if (o->root_key_file || !o->dev)
                return false;
        return !(creds && snprintf(path, sizeof(path), "%s/%s", creds, CREDENTIAL_NAME) > 0 && lstat(path, &st) == 0);
}

/* Rotate the opened vault to the new root key. Returns 0 or an exit
 * status; *ret_source says where the new key is. */
static int rotate_to_new_key(const Options *o, Vault *v, char *source, size_t source_size, int64_t *ret_at) {
        char dev_key[PATH_MAX];
        uint8_t *key = NULL;
        bool made = false;
        int r;

        snprintf(dev_key, sizeof(dev_key), "%s/%s", o->state_dir, DEV_KEY_FILE);
        if (new_key_is_dev(o) && access(dev_key, F_OK) == 0) {
                /* The old development key may be there still (and lost
                 * only to whoever deleted the database's copy of it): a
                 * fresh one replaces it as key.rotate_root does. */
                int install_error = 0;
                snprintf(source, source_size, "%s", dev_key);
                r = vault_root_rotate_dev(v, dev_key, ret_at, &install_error);
                if (r >= 0 && install_error < 0)
                        log_warning("the new development key cannot be renamed over %s: %s; it is in %s%s, which "
                                    "the next --dev start installs: keep that file",
                                    dev_key, strerror(-install_error), dev_key, VAULT_DEV_KEY_NEW_SUFFIX);
        } else {
                made = new_key_is_dev(o);
                r = root_key_load(o, &key, source, source_size);
                if (r != 0)
                        return r;
                r = vault_root_rotate_to(v, key, ret_at);
                if (r < 0 && made)
                        (void) unlink(dev_key);
        }
        if (r == -EEXIST) {
                log_error("the new root key from %s is the vault's root key already: it opens the vault, nothing "
                          "to recover; nothing was changed",
                          source);
                return EXIT_USAGE;
        }
        if (r == -EUCLEAN) {
                log_error("cannot rewrap the keyring under the new root key from %s: the vault's recovery key or root "
                          "key rotation rows fail their MAC (altered); nothing was changed: restore the database "
                          "from a backup",
                          source);
                return EXIT_CORRUPT;
        }
        if (r < 0) {
                log_error("cannot rewrap the keyring under the new root key from %s: %s; nothing was changed", source,
                          strerror(-r));
                return EXIT_STATE_DIR;
        }
        return 0;
}

int recover_run(const Options *o) {
        _cleanup_(vault_freep) Vault *vault = NULL;
        _cleanup_(closep) int lock_fd = -1;
        char db_path[PATH_MAX], source[PATH_MAX] = "", when[64] = "";
        VaultOpenResult opened = {};
        uint8_t *old_root = NULL;
        char *text = NULL;
        size_t text_size = 0;
        int64_t rotated_at = 0;
        int r, mlock_error;

        r = hardening_apply(&mlock_error);
        if (r < 0)
                log_warning("could not disable core dumps: %s", strerror(-r));
        if (sodium_init() < 0) {
                log_error("libsodium failed to initialise");
                return EXIT_FAILURE;
        }
        r = state_dir_prepare(o->state_dir);
        if (r == 0)
                r = state_dir_lock(o->state_dir, &lock_fd);
        if (r == 0)
                r = database_files_check(o->state_dir);
        if (r != 0)
                return r;
        snprintf(db_path, sizeof(db_path), "%s/%s", o->state_dir, DB_FILE);
        /* store_open() would make an empty database: nothing to recover. */
        if (access(db_path, F_OK) < 0) {
                log_error("cannot recover database %s: %s", db_path, strerror(errno));
                return EXIT_STATE_DIR;
        }

        r = recovery_input_read(&text, &text_size);
        if (r < 0)
                return recovery_unseal_failed(r, db_path);
        r = vault_recovery_unseal(db_path, text, text_size, &old_root);
        sodium_free(text);
        if (r < 0)
                return recovery_unseal_failed(r, db_path);
        r = vault_open(db_path, old_root, o->trust_metadata_upgrade ? VAULT_OPEN_TRUST_METADATA_UPGRADE : 0, &vault,
                       &opened);
        if (r < 0)
                return vault_open_failed(r, &opened, db_path, "the recovery key");

        r = rotate_to_new_key(o, vault, source, sizeof(source), &rotated_at);
        if (r != 0)
                return r;
        time_t t = (time_t) rotated_at;
        struct tm tm;
        if (gmtime_r(&t, &tm))
                strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
        printf("recovered %s: the recovery key opened its root key, and the keyring (every KEK, the index key and "
               "the MAC key) is now wrapped under the new root key from %s (%s); no value was re-encrypted.\n"
               "The old root key no longer opens the vault; the recovery key still does. Start credvaultd with the "
               "new root key.\n",
               db_path, source, when);
        return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

int recovery_key_file_open(const Options *o, int *ret_fd) {
        *ret_fd = -1;
        if (!o->recovery_key_file)
                return 0;
        int fd = open(o->recovery_key_file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
        if (fd < 0) {
                log_error("cannot create recovery key file %s: %s%s", o->recovery_key_file, strerror(errno),
                          errno == EEXIST ? " (it is never overwritten)" : "");
                return EXIT_USAGE;
        }
        *ret_fd = fd;
        return 0;
}

int recovery_key_file_write(const char *path, int fd, Vault *vault, bool created) {
        _cleanup_(closep) int owned = fd;
        _cleanup_(secret_buf_freep) SecretBuf *text = NULL;
        int r;

        if (!created) {
                (void) unlink(path);
                log_error("--recovery-key-file: the vault exists already, and a recovery key is written only when "
                          "this start creates the vault; make one for it with `credvault key recovery-key "
                          "--output FILE`; refusing to start");
                return EXIT_USAGE;
        }
        r = vault_recovery_create(vault, false, &text);
        for (size_t done = 0; r >= 0 && done <= text->size;) {
                /* The text and a newline. */
                const uint8_t nl = '\n';
                const uint8_t *p = done < text->size ? text->data + done : &nl;
                size_t want = done < text->size ? text->size - done : 1;
                ssize_t k = write(owned, p, want);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        r = k == 0 ? -ENOSPC : negative_errno();
                else
                        done += (size_t) k;
        }
        if (r >= 0 && fsync(owned) < 0)
                r = negative_errno();
        if (r < 0) {
                (void) unlink(path);
                log_error("cannot write the recovery key to %s: %s; the vault was created, but its recovery key is "
                          "lost: make a new one with `credvault key recovery-key --replace --output FILE`",
                          path, strerror(-r));
                return EXIT_STATE_DIR;
        }
        log_info("recovery key written to %s: keep it offline, away from the root key", path);
        return 0;
}

int dev_key_resume(const char *db_path, const char *dev_key_path, VaultOpenFlags flags, Vault **ret,
                   VaultOpenResult *ret_result) {
        char new_path[PATH_MAX];
        uint8_t *key = NULL;

        snprintf(new_path, sizeof(new_path), "%s%s", dev_key_path, VAULT_DEV_KEY_NEW_SUFFIX);
        if (rootkey_read_nofollow(new_path, &key) < 0)
                return -EKEYREJECTED;
        int r = vault_open(db_path, key, flags, ret, ret_result);
        if (r < 0)
                return r;
        r = rootkey_install(new_path, dev_key_path);
        if (r < 0)
                log_warning("development key: a root key rotation was interrupted after its commit; the new key in "
                            "%s opens the vault, but cannot be renamed to %s: %s",
                            new_path, dev_key_path, strerror(-r));
        else
                log_warning("development key: finished a root key rotation a crash interrupted: %s is now %s", new_path,
                            dev_key_path);
        return 0;
}

void dev_key_stale_remove(const char *dev_key_path) {
        char new_path[PATH_MAX];

        snprintf(new_path, sizeof(new_path), "%s%s", dev_key_path, VAULT_DEV_KEY_NEW_SUFFIX);
        if (unlink(new_path) == 0)
                log_info("development key: removed %s, left by a root key rotation that never committed", new_path);
}
