/* log.h — the daemon's log lines.
 *
 * Owns: where log lines go: the journal, with structured fields, when the
 * daemon runs under systemd; stderr otherwise. Never pass a secret value to
 * these functions: log names, ids and error codes only. */
#pragma once

#include <syslog.h>

#include "macro.h"

void log_open(void);
void log_msg(int priority, const char *fmt, ...) _printf_(2, 3);

#define log_error(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)

/* True when structured journal fields reach the journal directly. */
int log_to_journal(void);
