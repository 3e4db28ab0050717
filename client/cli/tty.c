/* tty.c — reading a secret typed at a terminal (see tty.h).
 *
 * Owns: the terminal's modes while a secret is typed (canonical input, so
 * that the line can be edited, with the echo off), their restoration, and
 * the signal handlers that restore them if the process ends or stops in
 * the middle of the line.
 * Never: echo the line, put it through stdio, or leave a mode or a
 * handler changed after tty_read_line() returns. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "tty.h"

/* The signals that end or stop the process from the keyboard or from
 * outside while the line is typed; each leaves the terminal as it was. */
static const int tty_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP };
#define N_TTY_SIGNALS (sizeof(tty_signals) / sizeof(tty_signals[0]))

/* What the handlers need: set before they are installed, cleared after
 * they are removed. */
static volatile sig_atomic_t tty_active;
static int tty_fd = -1;
static struct termios tty_saved, tty_quiet;
static struct sigaction tty_old_actions[N_TTY_SIGNALS];

bool tty_is(int fd) {
        return isatty(fd) == 1;
}

static void tty_handler(int sig);

static void handlers_install(void) {
        struct sigaction sa = { .sa_handler = tty_handler };
        sigemptyset(&sa.sa_mask);
        for (size_t i = 0; i < N_TTY_SIGNALS; i++)
                (void) sigaction(tty_signals[i], &sa, &tty_old_actions[i]);
}

static void handlers_remove(void) {
        for (size_t i = 0; i < N_TTY_SIGNALS; i++)
                (void) sigaction(tty_signals[i], &tty_old_actions[i], NULL);
}

/* Only async-signal-safe calls: tcsetattr(), write(), sigaction(),
 * raise(). The terminal is put back, then the signal is raised again with
 * the disposition the process had, so that the caller (a shell) sees the
 * process end by that signal. */
static void tty_handler(int sig) {
        int saved_errno = errno;
        size_t i = 0;

        while (i < N_TTY_SIGNALS && tty_signals[i] != sig)
                i++;
        if (tty_active)
                (void) tcsetattr(tty_fd, TCSANOW, &tty_saved);
        if (sig != SIGTSTP)
                (void) !write(STDERR_FILENO, "\n", 1);
        struct sigaction mine;
        sigset_t unblock;
        (void) sigaction(sig, &tty_old_actions[i], &mine);
        sigemptyset(&unblock);
        sigaddset(&unblock, sig);
        (void) sigprocmask(SIG_UNBLOCK, &unblock, NULL);
        (void) raise(sig);
        /* Still here: SIGTSTP stopped us and SIGCONT woke us (or the old
         * disposition ignores the signal). Back to typing unseen. */
        (void) sigaction(sig, &mine, NULL);
        if (tty_active)
                (void) tcsetattr(tty_fd, TCSANOW, &tty_quiet);
        errno = saved_errno;
}

/* Read up to the end of the line (or of input) into b, keeping at most
 * keep bytes; *ret_over if there were more, *ret_total what was read. */
static int line_read(int fd, size_t keep, CliBuf *b, size_t *ret_total, bool *ret_over) {
        size_t total = 0;
        bool over = false;
        char c = 0;
        int r = 0;

        for (;;) {
                ssize_t k = read(fd, &c, 1);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        break;
                }
                if (k == 0)
                        break;
                total++;
                if (b->size < keep)
                        b->data[b->size++] = (uint8_t) c;
                else
                        over = true;
                if (c == '\n')
                        break;
        }
        explicit_bzero(&c, sizeof(c));
        *ret_total = total;
        *ret_over = over;
        return r;
}

int tty_read_line(int fd, const char *prompt, size_t size_max, CliBuf **ret) {
        _cleanup_(cli_buf_freep) CliBuf *b = NULL;
        size_t total = 0;
        bool over = false;
        int r;

        if (tcgetattr(fd, &tty_saved) < 0)
                return errno == ENOTTY ? -ENOTTY : -errno;
        b = calloc(1, sizeof(CliBuf));
        if (!b)
                return -ENOMEM;
        /* Room for the line ending ("\r\n") and a NUL for
         * cli_buf_terminate(). */
        b->allocated = size_max + 3;
        b->data = malloc(b->allocated);
        if (!b->data)
                return -ENOMEM;

        tty_quiet = tty_saved;
        tty_quiet.c_lflag &= ~(tcflag_t) (ECHO | ECHOE | ECHOK);
        /* The Enter key still ends the line, and shows as a line break. */
        tty_quiet.c_lflag |= ICANON | ECHONL;
        tty_quiet.c_iflag |= ICRNL;
        tty_fd = fd;
        handlers_install();
        tty_active = 1;

        /* Echo off before the prompt shows; TCSAFLUSH drops what was typed
         * ahead of it (and echoed), rather than taking it for the secret. */
        if (tcsetattr(fd, TCSAFLUSH, &tty_quiet) < 0)
                r = -errno;
        else {
                (void) !write(STDERR_FILENO, prompt, strlen(prompt));
                r = line_read(fd, size_max + 2, b, &total, &over);
        }

        (void) tcsetattr(fd, TCSANOW, &tty_saved);
        tty_active = 0;
        handlers_remove();
        bool newline = b->size > 0 && b->data[b->size - 1] == '\n';
        /* A line ended by Ctrl-D left the cursor after the prompt. */
        if (r >= 0 && !newline)
                (void) !write(STDERR_FILENO, "\n", 1);
        if (r < 0)
                return r;
        if (total == 0)
                return -ENODATA;
        if (newline) {
                b->size--;
                if (b->size > 0 && b->data[b->size - 1] == '\r')
                        b->size--;
        }
        if (over || b->size > size_max)
                return -EMSGSIZE;
        *ret = TAKE_PTR(b);
        return 0;
}
