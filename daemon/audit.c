/* audit.c — audit records (see audit.h).
 *
 * Under systemd each record is a journal entry with CREDVAULT_* fields, so
 * `journalctl CREDVAULT_PLUGIN=todo` finds every access to one plugin. */
#include <stdio.h>
#include <systemd/sd-journal.h>

#include "audit.h"
#include "errors.h"
#include "log.h"

void audit_record(const Peer *peer, const Request *req, int result) {
        const char *op = op_to_string(req->op);
        const char *res = result >= 0 ? "ok" : error_code_from_errno(result);
        const char *object = req->name ?: req->user ?: "";

        if (!op)
                op = "invalid";
        if (log_to_journal())
                sd_journal_send("MESSAGE=audit: %s %s/%s by uid %u: %s", op, req->plugin ?: "", object,
                                (unsigned) peer->uid, res, "PRIORITY=%i", result >= 0 ? LOG_INFO : LOG_NOTICE,
                                "CREDVAULT_AUDIT=1", "CREDVAULT_OP=%s", op, "CREDVAULT_PLUGIN=%s",
                                req->plugin ?: "", "CREDVAULT_NAME=%s", req->name ?: "", "CREDVAULT_USER=%s",
                                req->user ?: "", "CREDVAULT_RESULT=%s", res, "CREDVAULT_PEER_UID=%u",
                                (unsigned) peer->uid, "CREDVAULT_PEER_GID=%u", (unsigned) peer->gid,
                                "CREDVAULT_PEER_PID=%d", (int) peer->pid, "CREDVAULT_PEER_UNIT=%s",
                                peer->unit ?: "", NULL);
        else
                fprintf(stderr, "credvaultd: audit op=%s plugin=%s object=%s uid=%u pid=%d unit=%s result=%s\n", op,
                        req->plugin ?: "-", object[0] ? object : "-", (unsigned) peer->uid, (int) peer->pid,
                        peer->unit ?: "-", res);
}
