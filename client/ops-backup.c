/* ops-backup.c — backup: a copy of the vault into a file the caller
 * opened (see credvault.h).
 *
 * Owns: passing the descriptor with the request (SCM_RIGHTS, through the
 * one call path), the longer wait the copy needs, and the checking of the
 * reply. Never: opens, names or removes the file (the caller does), or
 * closes the caller's descriptor. */
#include <errno.h>

#include "client-internal.h"

int cv_backup_fd(CvClient *c, int fd, CvBackupInfo *ret_info) {
        CvBackupInfo info = {};
        Reply reply;

        if (!c || fd < 0)
                return -EINVAL;
        int timeout = c->timeout_ms;
        /* The daemon answers when the copy is on disk: seconds for a large
         * vault, not a call's usual milliseconds. */
        if (timeout < CV_BACKUP_TIMEOUT_MS) {
                int r = cv_client_set_timeout(c, CV_BACKUP_TIMEOUT_MS);
                if (r < 0)
                        return client_fail(c, r, "unreachable", "cannot set socket timeouts");
        }
        client_request(c, "backup");
        c->pass_fd = fd;
        int r = client_send(c, &reply);
        c->pass_fd = -1;
        if (timeout < CV_BACKUP_TIMEOUT_MS)
                (void) cv_client_set_timeout(c, timeout);
        if (r < 0)
                return r;
        r = client_reply_int(&reply, "records", &info.records);
        if (r >= 0)
                r = client_reply_int(&reply, "pages", &info.pages);
        if (r >= 0)
                r = client_reply_int(&reply, "bytes", &info.bytes);
        if (r >= 0)
                r = client_reply_int(&reply, "ms", &info.ms);
        if (r >= 0 && (info.records < 0 || info.pages < 1 || info.bytes < 1 || info.ms < 0))
                r = client_fail_protocol(c, "backup counts out of range");
        client_reply_done(&reply);
        if (r < 0)
                return r;
        if (ret_info)
                *ret_info = info;
        return 0;
}
