/* log.c — log lines to the journal or stderr (see log.h).
 *
 * JOURNAL_STREAM is how systemd tells a service that its stderr is the
 * journal; then sd_journal_send() gives the same lines with fields. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>

#include "log.h"

static int journal = -1;

void log_open(void) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long dev, ino;
        struct stat st;

        journal = e && sscanf(e, "%lu:%lu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) >= 0 && st.st_dev == dev &&
                  st.st_ino == ino;
}

int log_to_journal(void) {
        if (journal < 0)
                log_open();
        return journal;
}

void log_msg(int priority, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        if (log_to_journal())
                sd_journal_printv(priority, fmt, ap);
        else {
                fputs("credvaultd: ", stderr);
                vfprintf(stderr, fmt, ap);
                fputc('\n', stderr);
        }
        va_end(ap);
}
