/* daemon-run.c — running credvaultd's offline checks for the CLI
 * (policy check, backup --verify).
 *
 * Owns: which credvaultd binary runs ($CREDVAULTD; else, for a CLI run
 * from a build tree, the daemon built beside it; else the installed one),
 * and running it without a shell, its output and exit status being the
 * command's. The checks are the daemon's own, so that a file is judged
 * exactly as the daemon judges it when it loads it. */
#include <errno.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

#ifndef CREDVAULTD_PATH
#error "CREDVAULTD_PATH: the installed credvaultd, set by client/cli/meson.build"
#endif

extern char **environ;

/* build/client/cli/credvault → build/daemon/credvaultd, when this CLI is
 * the one in a build tree and the daemon is built there too. */
static bool build_tree_daemon(char *buf, size_t size) {
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (n <= 0)
                return false;
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (!slash || (size_t) (slash - self) < strlen("/client/cli") ||
            strcmp(slash - strlen("/client/cli"), "/client/cli/credvault") != 0)
                return false;
        slash[-(int) strlen("/client/cli")] = '\0';
        if (snprintf(buf, size, "%s/daemon/credvaultd", self) >= (int) size)
                return false;
        return access(buf, X_OK) == 0;
}

int cli_run_daemon(char **argv) {
        const char *env = getenv("CREDVAULTD");
        char built[PATH_MAX];
        const char *daemon = env && *env ? env : build_tree_daemon(built, sizeof(built)) ? built : CREDVAULTD_PATH;
        pid_t pid;
        int status, r;

        argv[0] = (char *) daemon;
        /* What we printed comes before what the checker prints. */
        fflush(stdout);
        r = posix_spawn(&pid, daemon, NULL, NULL, argv, environ);
        if (r != 0) {
                /* No daemon binary here is "unreachable", as a missing socket is. */
                cli_error(-r, "cannot run %s %s: %s%s", daemon, argv[1], strerror(r),
                          env && *env ? "" : " (set $CREDVAULTD to the daemon's path)");
                return CLI_EXIT_UNREACHABLE;
        }
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR) {
                        r = -errno;
                        return cli_error(r, "waiting for %s: %s", daemon, strerror(-r));
                }
        if (WIFEXITED(status))
                return WEXITSTATUS(status);
        return cli_error(-EIO, "%s %s was killed by signal %d", daemon, argv[1],
                         WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}
