/* cv-harness — run a command against a fresh credvaultd.
 *
 *     cv-harness [--socket-activate] [--] COMMAND [ARG...]
 *
 * Starts the daemon through harness.c (temporary state dir, socket, root
 * key), runs COMMAND with CREDVAULT_SOCKET, CV_STATE_DIR, CV_TEST_DIR,
 * CV_ROOT_KEY and CV_DAEMON_PID in its environment, stops the daemon and
 * exits with COMMAND's status; 1 if the daemon did not exit cleanly. This
 * is how shell tests get the same daemon set-up as the C tests. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

int main(int argc, char **argv) {
        Harness h = {};
        int i = 1, r, status;

        for (; i < argc && argv[i][0] == '-'; i++) {
                if (strcmp(argv[i], "--") == 0) {
                        i++;
                        break;
                }
                if (strcmp(argv[i], "--socket-activate") == 0)
                        h.socket_activate = true;
                else {
                        fprintf(stderr, "usage: cv-harness [--socket-activate] [--] COMMAND [ARG...]\n");
                        return 2;
                }
        }
        if (i >= argc) {
                fprintf(stderr, "usage: cv-harness [--socket-activate] [--] COMMAND [ARG...]\n");
                return 2;
        }

        r = harness_start(&h);
        if (r < 0) {
                fprintf(stderr, "cv-harness: cannot start %s: %s (log: %s)\n", harness_daemon_path(), strerror(-r),
                        h.log_file);
                harness_cleanup(&h);
                return 1;
        }

        char pid[16];
        snprintf(pid, sizeof(pid), "%d", (int) h.pid);
        setenv("CREDVAULT_SOCKET", h.socket_path, 1);
        setenv("CV_STATE_DIR", h.state_dir, 1);
        setenv("CV_TEST_DIR", h.dir, 1);
        setenv("CV_ROOT_KEY", h.key_file, 1);
        setenv("CV_DAEMON_PID", pid, 1);

        pid_t child = fork();
        if (child == 0) {
                execvp(argv[i], argv + i);
                fprintf(stderr, "cv-harness: cannot run %s: %s\n", argv[i], strerror(errno));
                _exit(127);
        }
        if (child < 0 || waitpid(child, &status, 0) < 0)
                status = 127 << 8;
        int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);

        /* The command may have stopped or restarted the daemon itself; only
         * a daemon still ours is checked. */
        if (h.pid > 0 && kill(h.pid, 0) == 0) {
                int d = harness_stop(&h);
                if (d != 0) {
                        fprintf(stderr, "cv-harness: credvaultd exited with %d on SIGTERM\n", d);
                        if (rc == 0)
                                rc = 1;
                }
        }
        if (rc != 0) {
                FILE *f = fopen(h.log_file, "r");
                char line[512];
                fprintf(stderr, "--- credvaultd log ---\n");
                while (f && fgets(line, sizeof(line), f))
                        fputs(line, stderr);
                if (f)
                        fclose(f);
        }
        h.pid = 0;
        harness_cleanup(&h);
        return rc;
}
