/* audit.c — audit records (see audit.h).
 *
 * Without the journal, records are lines on stderr, through log.c's queue,
 * which never blocks (a stalled reader costs records, counted, never a
 * request; the records of successful writes and of revealing reads have a
 * reserve in that queue that failing requests cannot take, see log.h). Records of successful reads are gathered there and written by
 * the server's flush timer (every VAULT_AUDIT_FLUSH_USEC, see server.c), at exit,
 * or once LOG_BATCH_SIZE is waiting: a write per request would be a third
 * of a secret.get's system calls. A crash can lose at most that long of
 * read records. Writes and failures are written at once: they are rarer,
 * and the ones worth having after a crash.
 *
 * Under systemd each record is a journal entry with CREDVAULT_* fields, so
 * `journalctl CREDVAULT_PLUGIN=todo` finds every access to one plugin. */
#include <stdio.h>
#include <string.h>
#include <systemd/sd-journal.h>

#include "audit.h"
#include "errors.h"
#include "log.h"

/* Every audit record in the journal carries it: `journalctl
 * MESSAGE_ID=d3c6c1d1a7b94c0c9a1f0e8b5c2a7f41` is the whole trail. */
#define AUDIT_MESSAGE_ID "MESSAGE_ID=d3c6c1d1a7b94c0c9a1f0e8b5c2a7f41"

/* Longer than any line: the fields have their own limits (names 128, user
 * ids 256, units are short); append() cuts anything longer. */
#define AUDIT_LINE_MAX LOG_LINE_MAX

static void append(char *line, size_t *n, const char *s) {
        size_t k = strlen(s);
        if (k > AUDIT_LINE_MAX - 1 - *n)
                k = AUDIT_LINE_MAX - 1 - *n;
        memcpy(line + *n, s, k);
        *n += k;
}

/* A value a client chose (a user id) may hold spaces or '=' and so pose
 * as more fields: outside a safe set every byte is written %XX. UTF-8
 * bytes stay as they are, user ids being valid UTF-8 without controls. */
static void append_escaped(char *line, size_t *n, const char *s) {
        static const char hex[] = "0123456789ABCDEF";
        for (; *s && *n + 3 < AUDIT_LINE_MAX - 1; s++) {
                unsigned char c = (unsigned char) *s;
                if (c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    strchr("_.:@/-+|", c))
                        line[(*n)++] = (char) c;
                else {
                        line[(*n)++] = '%';
                        line[(*n)++] = hex[c >> 4];
                        line[(*n)++] = hex[c & 15];
                }
        }
}

static void append_uint(char *line, size_t *n, unsigned v) {
        char digits[12], *p = digits + sizeof(digits);
        *--p = '\0';
        do
                *--p = (char) ('0' + v % 10);
        while ((v /= 10) > 0);
        append(line, n, p);
}

/* Queue one line (newline added) and write it now or with the next flush.
 * reserved: a record of a successful write or of a read that revealed a
 * value, which may use the queue's reserve (see log.h). */
static void audit_line_queue(char *line, size_t n, bool flush_now, bool reserved) {
        line[n++] = '\n';
        log_line_queue(line, n, flush_now, reserved);
}

void audit_record(const AuditEntry *e, bool flush_now, bool reserved) {
        bool ok = strcmp(e->result, "ok") == 0;

        if (log_to_journal())
                sd_journal_send("MESSAGE=audit: %s %s/%s by uid %u: %s", e->op, e->plugin, e->object, (unsigned) e->uid,
                                e->result, AUDIT_MESSAGE_ID, "PRIORITY=%i", ok ? LOG_INFO : LOG_NOTICE,
                                "CREDVAULT_AUDIT=1", "CREDVAULT_OP=%s", e->op, "CREDVAULT_PLUGIN=%s", e->plugin,
                                "CREDVAULT_OBJECT=%s", e->object, "CREDVAULT_RESULT=%s", e->result,
                                "CREDVAULT_PEER_UID=%u", (unsigned) e->uid, "CREDVAULT_PEER_GID=%u", (unsigned) e->gid,
                                "CREDVAULT_PEER_PID=%d", (int) e->pid, "CREDVAULT_PEER_UNIT=%s", e->unit,
                                "CREDVAULT_REVEALED=%d", e->revealed, NULL);
        else {
                /* By hand rather than snprintf(): this runs for every
                 * request, and formatting was most of its cost. */
                char line[AUDIT_LINE_MAX];
                size_t n = 0;
                append(line, &n, "credvaultd: audit op=");
                append(line, &n, e->op);
                append(line, &n, " plugin=");
                append(line, &n, e->plugin[0] ? e->plugin : "-");
                append(line, &n, " object=");
                if (e->object[0])
                        append_escaped(line, &n, e->object);
                else
                        append(line, &n, "-");
                append(line, &n, " uid=");
                append_uint(line, &n, e->uid);
                append(line, &n, " pid=");
                append_uint(line, &n, (unsigned) e->pid);
                append(line, &n, " unit=");
                if (e->unit[0])
                        append_escaped(line, &n, e->unit);
                else
                        append(line, &n, "-");
                append(line, &n, " result=");
                append(line, &n, e->result);
                if (e->revealed)
                        append(line, &n, " revealed=yes");
                audit_line_queue(line, n, flush_now, reserved);
        }
}

void audit_flush(void) {
        log_flush();
}
