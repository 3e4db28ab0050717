/* cmd-policy.c — credvault policy check.
 *
 * Owns: running the daemon's own validator on a policy file, so that the
 * check is exactly the one the daemon makes when it loads the file: the
 * binary from $CREDVAULTD, else the installed credvaultd, with
 * --check-policy FILE; its output and exit status are the command's.
 * Never: parse the policy itself (two parsers would disagree), or go
 * through a shell. */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "cli.h"

#ifndef CREDVAULTD_PATH
#error "CREDVAULTD_PATH: the installed credvaultd, set by client/cli/meson.build"
#endif

extern char **environ;

int cmd_policy_check(Cli *cli, char **args) {
        const char *daemon = getenv("CREDVAULTD");
        char *argv[] = { NULL, (char *) "--check-policy", args[0], NULL };
        pid_t pid;
        int status, r;

        if (!daemon || !*daemon)
                daemon = CREDVAULTD_PATH;
        argv[0] = (char *) daemon;
        /* What we printed comes before what the checker prints. */
        fflush(stdout);
        r = posix_spawn(&pid, daemon, NULL, NULL, argv, environ);
        if (r != 0) {
                /* No daemon binary here is "unreachable", as a missing socket is. */
                cli_error(-r, "cannot run %s --check-policy: %s%s", daemon, strerror(r),
                          getenv("CREDVAULTD") ? "" : " (set $CREDVAULTD to the daemon's path)");
                return CLI_EXIT_UNREACHABLE;
        }
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR) {
                        r = -errno;
                        return cli_error(r, "waiting for %s: %s", daemon, strerror(-r));
                }
        if (WIFEXITED(status))
                return WEXITSTATUS(status);
        return cli_error(-EIO, "%s --check-policy was killed by signal %d", daemon,
                         WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}
