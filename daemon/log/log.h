/* log.h — the daemon's log lines.
 *
 * Owns: where log lines go: the journal, with structured fields, when the
 * daemon runs under systemd; stderr otherwise. Never pass a secret value to
 * these functions: log names, ids and error codes only.
 *
 * Never blocks: on stderr, lines go through a queue written without
 * waiting. A reader that stops reading costs log lines, never requests:
 * lines that find the queue full are dropped and counted, and once the
 * reader catches up one more line says how many were lost. (The journal
 * is written with sd_journal_send() as it is: journald's socket is
 * systemd's to keep moving.)
 *
 * Reserved lines (the audit records of successful writes and of reads
 * that revealed a value) may also use the last LOG_RESERVE_SIZE bytes of
 * the queue, which no other line may take: a client flooding the daemon
 * with failing requests fills the queue with their lines only up to
 * LOG_QUEUE_SIZE, and cannot push out another client's record of a
 * revealed secret until the reserve too is full. Reserved lines dropped
 * even so are counted apart and reported as lost audit records. Lines
 * are written in the order they were queued either way. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <syslog.h>

#include "macro.h"

/* Longest line written to stderr, newline included; longer ones are cut. */
#define LOG_LINE_MAX 1024
/* Lines held while stderr is not taking them; over this they are dropped. */
#define LOG_QUEUE_SIZE (64 * 1024)
/* Room past LOG_QUEUE_SIZE for reserved lines only (some 100 audit
 * records). */
#define LOG_RESERVE_SIZE (16 * 1024)
/* Queued lines are written once this much is waiting (or by log_flush()). */
#define LOG_BATCH_SIZE (8 * 1024)

void log_open(void);
void log_msg(int priority, const char *fmt, ...) _printf_(2, 3);

#define log_error(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)

/* True when structured journal fields reach the journal directly. */
int log_to_journal(void);

/* stderr mode: queue one whole line (size bytes, its newline included, at
 * most LOG_LINE_MAX). With flush_now it is written at once, as far as
 * stderr takes it; otherwise when LOG_BATCH_SIZE is waiting or at the next
 * log_flush(). reserved: the line may use the reserve (see above). */
void log_line_queue(const char *line, size_t size, bool flush_now, bool reserved);

/* Write what is queued, as far as stderr takes it without blocking. The
 * server calls it from a timer (which is also how a stalled reader's
 * backlog drains) and at exit. */
void log_flush(void);
