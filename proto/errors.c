/* errors.c — the errno ⇄ wire error code table (see errors.h).
 *
 * The first entry for an errno is the one the daemon sends; further entries
 * for the same code only widen what the daemon may return internally. */
#include <errno.h>
#include <string.h>

#include "errors.h"
#include "macro.h"

static const struct {
        int error; /* positive errno */
        const char *code;
} error_table[] = {
        { EINVAL, "bad_request" },
        { EBADMSG, "bad_request" },
        { EOPNOTSUPP, "unknown_op" },
        { EACCES, "unauthorized" },
        { EPERM, "denied" },
        { ENOENT, "not_found" },
        { EEXIST, "conflict" },
        { EMSGSIZE, "too_large" },
        { E2BIG, "too_large" },
        { EBUSY, "rate_limited" },
        { ESHUTDOWN, "unavailable" },
        { EUCLEAN, "corrupt" },
        { ESTALE, "refresh_required" },
        { EKEYREVOKED, "reauth_required" },
        { EALREADY, "refresh_in_progress" },
        { EIO, "internal" },
};

const char *error_code_from_errno(int error) {
        if (error < 0)
                error = -error;
        for (size_t i = 0; i < ELEMENTSOF(error_table); i++)
                if (error_table[i].error == error)
                        return error_table[i].code;
        return "internal";
}

int error_errno_from_code(const char *code) {
        if (!code)
                return -EPROTO;
        for (size_t i = 0; i < ELEMENTSOF(error_table); i++)
                if (strcmp(error_table[i].code, code) == 0)
                        return -error_table[i].error;
        return -EPROTO;
}

int error_code_is_known(const char *code) {
        return error_errno_from_code(code) != -EPROTO;
}
