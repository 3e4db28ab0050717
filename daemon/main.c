/* main.c — credvaultd start-up: from the command line to a serving loop.
 *
 * Owns: the order of start-up and its exit codes. Every check that can
 * refuse to start (root key, state directory, integrity, key check) runs
 * before the socket is served, and the key check runs before the schema is
 * touched, so a wrong key never changes the database. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hardening.h"
#include "log.h"
#include "options.h"
#include "rootkey.h"
#include "server.h"
#include "vault.h"

#define DB_FILE "credvault.db"
#define DEV_KEY_FILE "dev-root.key"
#define CREDENTIAL_NAME "credvault.key"

static int state_dir_prepare(const char *dir) {
        struct stat st;

        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return negative_errno();
        if (stat(dir, &st) < 0)
                return negative_errno();
        if (!S_ISDIR(st.st_mode))
                return -ENOTDIR;
        if (access(dir, R_OK | W_OK | X_OK) < 0)
                return negative_errno();
        return 0;
}

/* Where the root key comes from, in order: --root-key-file, the systemd
 * credential, the development key (--dev only). */
static int root_key_load(const Options *o, uint8_t **ret, char *source, size_t source_size) {
        const char *creds = getenv("CREDENTIALS_DIRECTORY");
        char path[PATH_MAX];
        int r;

        if (o->root_key_file)
                snprintf(path, sizeof(path), "%s", o->root_key_file);
        else if (creds && snprintf(path, sizeof(path), "%s/%s", creds, CREDENTIAL_NAME) > 0 && access(path, F_OK) == 0)
                ;
        else if (o->dev) {
                snprintf(path, sizeof(path), "%s/%s", o->state_dir, DEV_KEY_FILE);
                r = rootkey_generate(path);
                if (r >= 0)
                        log_warning("development mode: generated a root key in %s; never use --dev in production",
                                    path);
                else if (r != -EEXIST)
                        return r;
        } else {
                snprintf(path, sizeof(path), "%s/%s", o->state_dir, DEV_KEY_FILE);
                if (access(path, F_OK) == 0)
                        log_error("%s is a development key; it is used only with --dev", path);
                return -ENOKEY;
        }
        snprintf(source, source_size, "%s", path);
        return rootkey_read(path, ret);
}

/* The start-up message and exit code of a vault that would not open. */
static int vault_open_failed(int r, VaultOpenStep step, const char *db_path, const char *key_source) {
        if (r == -EKEYREJECTED) {
                log_error("root key from %s does not match database %s; refusing to start", key_source, db_path);
                return EXIT_WRONG_KEY;
        }
        switch (step) {
        case VAULT_OPEN_DATABASE:
                if (r == -EUCLEAN) {
                        log_error("database %s fails its integrity check; restore it from a backup", db_path);
                        return EXIT_CORRUPT;
                }
                log_error("cannot open database %s: %s", db_path, strerror(-r));
                return EXIT_STATE_DIR;
        case VAULT_OPEN_KEY_CHECK:
                log_error("cannot read key check from %s: %s", db_path, strerror(-r));
                break;
        case VAULT_OPEN_MIGRATE:
                log_error("cannot bring database %s up to date: %s", db_path,
                          r == -EPROTO ? "written by a newer credvaultd" : strerror(-r));
                break;
        case VAULT_OPEN_KEYRING:
                log_error("cannot load keyring from %s: %s", db_path,
                          r == -EUCLEAN ? "key rows fail authentication (tampered or damaged)" : strerror(-r));
                break;
        case VAULT_OPEN_LOCK:
                log_error("cannot lock database %s: %s", db_path,
                          r == -EBUSY ? "another process has it open" : strerror(-r));
                break;
        }
        return r == -EUCLEAN ? EXIT_CORRUPT : EXIT_STATE_DIR;
}

static int run(const Options *o) {
        _cleanup_(vault_freep) Vault *vault = NULL;
        uint8_t *root_key = NULL;
        char db_path[PATH_MAX], key_source[PATH_MAX] = "";
        VaultOpenStep step;
        int r, mlock_error;

        r = hardening_apply(&mlock_error);
        if (r < 0)
                log_warning("could not disable core dumps: %s", strerror(-r));
        if (mlock_error < 0 && mlock_error != -EOPNOTSUPP)
                log_warning("could not lock memory (%s): secrets may reach swap; raise LimitMEMLOCK=",
                            strerror(-mlock_error));
        if (sodium_init() < 0) {
                log_error("libsodium failed to initialise");
                return EXIT_FAILURE;
        }

        r = state_dir_prepare(o->state_dir);
        if (r < 0) {
                log_error("state directory %s is unusable: %s", o->state_dir, strerror(-r));
                return EXIT_STATE_DIR;
        }

        r = root_key_load(o, &root_key, key_source, sizeof(key_source));
        if (r == -ENOKEY) {
                log_error("no root key: pass --root-key-file FILE, provide the systemd credential '%s' "
                          "(LoadCredentialEncrypted=), or use --dev for a development vault",
                          CREDENTIAL_NAME);
                return EXIT_NO_KEY;
        }
        if (r < 0) {
                log_error("cannot read root key %s: %s", key_source,
                          r == -EBADMSG ? "not 32 bytes or 64 hex digits"
                          : r == -EPERM ? "readable by others or writable by group/others; chmod 0600 it"
                                        : strerror(-r));
                return EXIT_NO_KEY;
        }

        snprintf(db_path, sizeof(db_path), "%s/%s", o->state_dir, DB_FILE);
        r = vault_open(db_path, TAKE_PTR(root_key), &vault, &step);
        if (r < 0)
                return vault_open_failed(r, step, db_path, key_source);

        ServerConfig config = {
                .socket_path = o->socket_path,
                .idle_exit_sec = o->idle_exit_sec,
                .max_connections = o->max_connections,
                .max_connections_per_uid = o->max_connections_per_uid,
                .client_idle_sec = o->client_idle_sec,
                .io_timeout_sec = o->io_timeout_sec,
        };
        Server *server = NULL;
        r = server_new(&config, vault, &server);
        if (r < 0)
                return EXIT_SOCKET;
        r = server_run(server);
        server_free(server);
        if (r < 0) {
                log_error("event loop failed: %s", strerror(-r));
                return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
}

int main(int argc, char **argv) {
        Options o;
        int r = options_parse(argc, argv, &o);
        if (r <= 0)
                return r < 0 ? EXIT_USAGE : EXIT_SUCCESS;
        log_open();
        return run(&o);
}
