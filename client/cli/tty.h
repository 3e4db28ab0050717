/* tty.h — reading a secret typed at a terminal.
 *
 * Owns: the prompt, turning the terminal's echo off while a line is typed
 * and back on afterwards on every path: a normal return, an error, and the
 * signals that end or stop the process (SIGINT, SIGTERM, SIGHUP, SIGQUIT:
 * the handler restores the terminal and re-raises; SIGTSTP: restored while
 * stopped, echo off again on SIGCONT).
 * Never: echo a byte of the line, keep it outside a wiping buffer, or
 * leave a handler installed once the line is read. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "cli.h"

/* Whether fd is a terminal. */
bool tty_is(int fd);

/* Write prompt to stderr, read one line from fd (a terminal) without echo,
 * and return it in *ret without its line ending ("\n", or "\r\n"). At most
 * size_max bytes (-EMSGSIZE past that; the rest of the line is read and
 * dropped). A line ended by Ctrl-D is taken as typed; Ctrl-D on an empty
 * line is -ENODATA. -ENOTTY if fd is not a terminal. */
int tty_read_line(int fd, const char *prompt, size_t size_max, CliBuf **ret);
