/* cmd-backup.c — credvault backup FILE, and backup --verify FILE.
 *
 * Owns: making the backup's file (the CLI creates it, new, 0600, never
 * through a symbolic link, and hands the daemon only the open descriptor,
 * so that the daemon never writes to a path a client names), removing it
 * when the backup fails, making its directory entry durable when it
 * succeeds; and running the daemon's own checker for --verify, as policy
 * check does (daemon-run.c), with
 * --verify-backup FILE and the root-key options given. Never: reads the
 * copy's contents itself, or goes through a shell. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* The copy's directory entry on disk too (best effort: the copy itself
 * is, the daemon fdatasync'd it). */
static void dir_sync(const char *path) {
        char buf[PATH_MAX];
        snprintf(buf, sizeof(buf), "%s", path);
        int fd = open(dirname(buf), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0) {
                (void) fsync(fd);
                close(fd);
        }
}

static int backup_verify(Cli *cli, const char *path) {
        char *argv[10];
        size_t n = 1; /* argv[0]: the daemon, daemon-run.c's choice */

        argv[n++] = (char *) "--verify-backup";
        argv[n++] = (char *) path;
        if (cli->key_file) {
                argv[n++] = (char *) "--root-key-file";
                argv[n++] = (char *) cli->key_file;
        }
        if (cli->state_dir) {
                argv[n++] = (char *) "--state-dir";
                argv[n++] = (char *) cli->state_dir;
        }
        if (cli_has(cli, CLI_OPT_DEV))
                argv[n++] = (char *) "--dev";
        argv[n] = NULL;
        return cli_run_daemon(argv);
}

int cmd_backup(Cli *cli, char **args) {
        const char *path = args[0];
        CvBackupInfo info;
        CvClient *c;
        int r;

        if (cli_has(cli, CLI_OPT_VERIFY))
                return backup_verify(cli, path);
        if (cli->options & (CLI_OPT_KEY_FILE | CLI_OPT_STATE_DIR | CLI_OPT_DEV))
                return cli_error(-EINVAL, "--root-key-file, --state-dir and --dev go with backup --verify: a backup "
                                          "is made by the running daemon, with its own key");
        /* Before the file is made: a daemon that is not there leaves no
         * empty file behind. */
        r = cli_connect(cli, &c);
        if (r < 0)
                return r;
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
        if (fd < 0) {
                r = -errno;
                if (r == -EEXIST)
                        return cli_error(r, "%s exists: a backup goes into a new file, never over one", path);
                return cli_error(r, "cannot create %s: %s", path, strerror(-r));
        }
        r = cv_backup_fd(c, fd, &info);
        if (r >= 0 && close(fd) < 0)
                r = cli_error(-errno, "cannot write %s: %s", path, strerror(errno));
        else if (r < 0) {
                close(fd);
                (void) cli_error_call(c, r);
        }
        if (r < 0) {
                /* Part of a copy is no backup. */
                if (unlink(path) < 0 && errno != ENOENT)
                        cli_error(-errno, "cannot remove the partial copy %s: %s", path, strerror(errno));
                return r;
        }
        dir_sync(path);
        if (cli->json)
                return cli_print_json(json_pack("{s:s s:I s:I s:I s:I}", "file", path, "records",
                                                (json_int_t) info.records, "pages", (json_int_t) info.pages, "bytes",
                                                (json_int_t) info.bytes, "ms", (json_int_t) info.ms));
        printf("backup %s: %" PRId64 " records, %" PRId64 " bytes, in %" PRId64 " ms\n", path, info.records, info.bytes,
               info.ms);
        return 0;
}
