/* cmd-rootkey.c — credvault key rotate-root, key new-root-key, key
 * recovery-key, and init.
 *
 * Owns: reading a new root key file on the client side (the daemon never
 * opens a path a client names), making one, and writing a recovery key
 * to stdout or to a file created for it (0600, never over another file).
 * Never: prints a root key, or leaves key bytes in memory unwiped: every
 * buffer that held one is a wiping CliBuf or wiped by hand. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

#define ROOT_KEY_SIZE 32
/* 64 hex digits and a CRLF; one byte more tells a longer file. */
#define ROOT_KEY_FILE_SIZE_MAX 66

/* Write all of data to fd, then fsync it. */
static int write_all_sync(int fd, const void *data, size_t size) {
        const uint8_t *p = data;
        while (size > 0) {
                ssize_t k = write(fd, p, size);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return negative_errno();
                if (k == 0)
                        return -ENOSPC;
                p += k;
                size -= (size_t) k;
        }
        return fsync(fd) < 0 ? negative_errno() : 0;
}

/* A file for a key, created by us alone: never over an existing file,
 * never through a symbolic link, readable by its owner only. */
static int key_file_create(const char *path) {
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
        if (fd < 0)
                return cli_error(negative_errno(), "cannot create %s: %s%s", path, strerror(errno),
                                 errno == EEXIST ? " (it is never overwritten)" : "");
        return fd;
}

int cmd_key_new_root_key(Cli *cli, char **args) {
        static const char hex[] = "0123456789abcdef";
        uint8_t key[ROOT_KEY_SIZE];
        char text[2 * ROOT_KEY_SIZE + 1];
        (void) cli;

        /* getrandom() blocks until the kernel's pool is seeded, never
         * after: a key made at first boot is as good as any. */
        for (size_t done = 0; done < sizeof(key);) {
                ssize_t k = getrandom(key + done, sizeof(key) - done, 0);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return cli_error(negative_errno(), "cannot get random bytes: %s", strerror(errno));
                done += (size_t) k;
        }
        for (size_t i = 0; i < sizeof(key); i++) {
                text[2 * i] = hex[key[i] >> 4];
                text[2 * i + 1] = hex[key[i] & 15];
        }
        text[2 * ROOT_KEY_SIZE] = '\n';
        explicit_bzero(key, sizeof(key));
        int fd = key_file_create(args[0]);
        if (fd < 0) {
                explicit_bzero(text, sizeof(text));
                return fd;
        }
        int r = write_all_sync(fd, text, sizeof(text));
        explicit_bzero(text, sizeof(text));
        close(fd);
        if (r < 0) {
                (void) unlink(args[0]);
                return cli_error(r, "cannot write %s: %s", args[0], strerror(-r));
        }
        if (cli->json)
                return cli_print_json(json_pack("{s:s}", "file", args[0]));
        fprintf(stderr,
                "new root key written to %s (mode 0600): for a vault's first key, credvaultd --root-key-file %s; "
                "to replace the key of a vault, credvault key rotate-root --new-key-file %s\n",
                args[0], args[0], args[0]);
        return 0;
}

int cmd_key_rotate_root(Cli *cli, char **args) {
        _cleanup_(cli_buf_freep) CliBuf *key = NULL;
        const char *path = cli_has(cli, CLI_OPT_NEW_KEY_FILE) ? cli->new_key_file : NULL;
        CvClient *c;
        int r;
        (void) args;

        if (path) {
                r = cli_file_read(path, ROOT_KEY_FILE_SIZE_MAX, &key);
                if (r == -EMSGSIZE)
                        return cli_error(-EINVAL,
                                         "%s is not a root key file: over %d bytes (a key is 32 raw bytes, "
                                         "or 64 hex digits and a newline)",
                                         path, ROOT_KEY_FILE_SIZE_MAX);
                if (r < 0)
                        return cli_error(r, "cannot read %s: %s", path, strerror(-r));
                struct stat st;
                /* The daemon would refuse to start with such a file (rootkey.c):
                 * better said before the vault depends on it. */
                if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & (S_IROTH | S_IWGRP | S_IWOTH)) != 0)
                        return cli_error(-EPERM,
                                         "%s has mode %04o: a root key file must be neither readable by others nor "
                                         "writable by group or others, or credvaultd refuses to start with it; "
                                         "chmod 0600 it",
                                         path, (unsigned) (st.st_mode & 07777));
        }
        r = cli_connect(cli, &c);
        if (r < 0)
                return r;
        r = cv_key_rotate_root(c, key ? key->data : NULL, key ? key->size : 0);
        if (r < 0)
                return cli_error_call(c, r);
        if (cli->json)
                return cli_print_json(json_pack("{s:b}", "rotated", 1));
        if (path)
                printf("root key rotated: the vault opens with the key in %s only; put it where credvaultd reads "
                       "its root key before the daemon restarts (credvaultd(8), ROOT KEY ROTATION)\n",
                       path);
        else
                printf("root key rotated: the daemon made a new development key and installed it in its state "
                       "directory\n");
        return 0;
}

/* Ask for a recovery key and write it to path (created first, so that a
 * key is never made that cannot be written) or stdout. init: a vault
 * that has one is not an error. */
static int recovery_key_emit(Cli *cli, const char *path, bool replace, bool init) {
        _cleanup_(closep) int fd = -1;
        char *text = NULL;
        CvClient *c;
        int r;

        r = cli_connect(cli, &c);
        if (r < 0)
                return r;
        if (path) {
                fd = key_file_create(path);
                if (fd < 0)
                        return fd;
        }
        r = cv_key_recovery(c, replace, &text);
        if (r == -EEXIST && init) {
                if (path)
                        (void) unlink(path);
                if (cli->json)
                        return cli_print_json(json_pack("{s:b}", "created", 0));
                printf("the vault has a recovery key already; nothing changed (credvault key recovery-key "
                       "--replace makes a new one)\n");
                return 0;
        }
        if (r < 0) {
                if (path)
                        (void) unlink(path);
                return cli_error_call(c, r);
        }
        if (path) {
                size_t n = strlen(text);
                r = write_all_sync(fd, text, n);
                if (r >= 0)
                        r = write_all_sync(fd, "\n", 1);
        } else if (cli->json) {
                /* The key is the JSON's only secret: the value, as every
                 * --json output of a secret is. */
                json_t *j = json_pack("{s:b s:s}", "created", 1, "recovery_key", text);
                r = cli_print_json(j);
        } else {
                r = cli_write_secret(text, strlen(text));
                if (r >= 0 && cli->newline != CLI_NEWLINE_NEVER &&
                    (cli->newline != CLI_NEWLINE_AUTO || isatty(STDOUT_FILENO) == 1))
                        r = cli_write_secret("\n", 1);
        }
        cv_free_wiped(text, (size_t) -1);
        if (r < 0) {
                if (path)
                        (void) unlink(path);
                return cli_error(r,
                                 "cannot write the recovery key to %s: %s; it is lost: make another with "
                                 "credvault key recovery-key --replace",
                                 path ?: "stdout", strerror(-r));
        }
        if (cli->json && path)
                r = cli_print_json(json_pack("{s:b s:s}", "created", 1, "file", path));
        fprintf(stderr, "%s%s%s: anyone who holds it can open the vault; keep it offline, apart from the root key\n",
                "recovery key written", path ? " to " : " above", path ?: "");
        return r < 0 ? r : 0;
}

int cmd_key_recovery_key(Cli *cli, char **args) {
        (void) args;
        return recovery_key_emit(cli, cli_has(cli, CLI_OPT_OUTPUT) ? cli->output : NULL, cli_has(cli, CLI_OPT_REPLACE),
                                 false);
}

int cmd_init(Cli *cli, char **args) {
        (void) args;
        return recovery_key_emit(cli, cli_has(cli, CLI_OPT_RECOVERY_KEY) ? cli->recovery_key : NULL, false, true);
}
