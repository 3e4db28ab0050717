/* check.c — credvaultd --check (see check.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "log.h"
#include "startup.h"
#include "vault.h"

int check_run(const Options *o) {
        _cleanup_(closep) int lock_fd = -1;
        char db_path[PATH_MAX], problem[512] = "";
        int r;

        r = state_dir_lock(o->state_dir, &lock_fd);
        if (r == 0)
                r = database_files_check(o->state_dir);
        if (r != 0)
                return r;
        snprintf(db_path, sizeof(db_path), "%s/%s", o->state_dir, DB_FILE);
        /* Opening would make an empty database: nothing to check. */
        if (access(db_path, F_OK) < 0) {
                log_error("cannot check database %s: %s", db_path, strerror(errno));
                return EXIT_STATE_DIR;
        }
        r = vault_database_check(db_path, problem, sizeof(problem));
        if (r == -EUCLEAN) {
                printf("%s\n", problem);
                log_error("database %s fails its integrity check: %s; restore it from a backup", db_path, problem);
                return EXIT_CORRUPT;
        }
        if (r == -EBUSY) {
                log_error("cannot check database %s: another process holds it", db_path);
                return EXIT_STATE_DIR;
        }
        if (r < 0) {
                log_error("cannot check database %s: %s", db_path, strerror(-r));
                return EXIT_STATE_DIR;
        }
        printf("ok\n");
        return EXIT_SUCCESS;
}
