/* hardening.c — process-wide protections (see hardening.h). */
#include <errno.h>
#include <sodium.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "hardening.h"
#include "json-wipe.h"
#include "macro.h"

int hardening_apply(int *ret_mlock_error) {
        struct rlimit no_core = { 0, 0 };
        int r = 0;

        umask(0077);
        if (setrlimit(RLIMIT_CORE, &no_core) < 0)
                r = negative_errno();
        /* Not dumpable: no core file, and no ptrace by other processes of
         * the same uid. */
        if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
                r = negative_errno();

        json_wipe_install();

        /* Lock every page, present and future, so plaintext in request
         * buffers never reaches swap. MCL_ONFAULT locks pages as they are
         * touched rather than populating the whole address space. Skipped
         * under AddressSanitizer, whose shadow memory is terabytes of
         * reserved address space. */
#if defined(__SANITIZE_ADDRESS__)
        *ret_mlock_error = -EOPNOTSUPP;
#else
        *ret_mlock_error = mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) < 0 ? negative_errno() : 0;
#endif
        return r;
}
