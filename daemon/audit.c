/* audit.c — audit records (see audit.h).
 *
 * Without the journal, records are lines on stderr, gathered in a buffer
 * and written once per event loop iteration (audit_flush() from the
 * server's post event): one write for many requests instead of one each,
 * off the request's latency. A crash loses at most the records of the
 * iteration it happens in.
 *
 * Under systemd each record is a journal entry with CREDVAULT_* fields, so
 * `journalctl CREDVAULT_PLUGIN=todo` finds every access to one plugin. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "audit.h"
#include "errors.h"
#include "log.h"

static char pending[16 * 1024];
static size_t pending_size;

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
        else {
                int n = snprintf(pending + pending_size, sizeof(pending) - pending_size,
                                 "credvaultd: audit op=%s plugin=%s object=%s uid=%u pid=%d unit=%s result=%s\n", op,
                                 req->plugin ?: "-", object[0] ? object : "-", (unsigned) peer->uid,
                                 (int) peer->pid, peer->unit ?: "-", res);
                if (n > 0 && (size_t) n < sizeof(pending) - pending_size)
                        pending_size += (size_t) n;
                else {
                        /* No room: write what is gathered, then this one. */
                        audit_flush();
                        n = snprintf(pending, sizeof(pending),
                                     "credvaultd: audit op=%s plugin=%s object=%s uid=%u pid=%d unit=%s result=%s\n",
                                     op, req->plugin ?: "-", object[0] ? object : "-", (unsigned) peer->uid,
                                     (int) peer->pid, peer->unit ?: "-", res);
                        pending_size = n > 0 ? (size_t) n < sizeof(pending) ? (size_t) n : sizeof(pending) - 1 : 0;
                }
                if (pending_size > sizeof(pending) / 2)
                        audit_flush();
        }
}

void audit_flush(void) {
        size_t off = 0;
        while (off < pending_size) {
                ssize_t k = write(STDERR_FILENO, pending + off, pending_size - off);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        break;
                off += (size_t) k;
        }
        pending_size = 0;
}
