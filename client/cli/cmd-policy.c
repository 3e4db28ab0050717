/* cmd-policy.c — credvault policy check.
 *
 * Owns: running the daemon's own validator on a policy file, so that the
 * check is exactly the one the daemon makes when it loads the file: the
 * --check-policy FILE (daemon-run.c); its output and exit status are the
 * command's.
 * Never: parse the policy itself (two parsers would disagree), or go
 * through a shell. */
#include "cli.h"

int cmd_policy_check(Cli *cli, char **args) {
        char *argv[] = { NULL, (char *) "--check-policy", args[0], NULL };
        (void) cli;
        return cli_run_daemon(argv);
}
