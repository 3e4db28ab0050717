/* server.c — the server's set-up, life and end (see server.h): the
 * descriptor budget, the listeners bound or taken from systemd, the
 * connections' callbacks into dispatch (and a closed one's removal),
 * signals (SIGHUP's policy reload), the audit flush, idle exit and
 * sd_notify. Taking clients in is server-accept.c's job, the background
 * work's sources server-background.c's: split so each file does one job.
 *
 * Never: reads a client's bytes or writes a reply's content (connection.c
 * and dispatch do). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "credential.h"
#include "frame.h"
#include "listen.h"
#include "log.h"
#include "macro.h"
#include "peer.h"
#include "proto-limits.h"
#include "server-internal.h"
#include "time-util.h"

/* Socket-activated daemons exit after this long without clients unless
 * --idle-exit says otherwise; systemd starts them again on demand. */
#define IDLE_EXIT_DEFAULT_SEC 300

int server_fds_reserve(unsigned max_connections, uint64_t *ret_limit) {
        struct rlimit rl;
        rlim_t need = (rlim_t) SERVER_FDS_NEEDED(max_connections);

        if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
                return negative_errno();
        /* The hard limit, or if the kernel refuses that (a hard limit of
         * infinity is over fs.nr_open), what is needed. */
        const rlim_t want[] = { rl.rlim_max, need };
        for (size_t i = 0; i < ELEMENTSOF(want) && rl.rlim_cur < rl.rlim_max; i++) {
                struct rlimit raised = { want[i], rl.rlim_max };
                if (want[i] > rl.rlim_cur && setrlimit(RLIMIT_NOFILE, &raised) == 0)
                        rl.rlim_cur = want[i];
        }
        *ret_limit = (uint64_t) rl.rlim_cur;
        return rl.rlim_cur >= need ? 0 : -EMFILE;
}

static int idle_exit_sec(const Server *s) {
        if (s->config.idle_exit_sec >= 0)
                return s->config.idle_exit_sec;
        return s->socket_activated ? IDLE_EXIT_DEFAULT_SEC : 0;
}

void server_idle_arm(Server *s) {
        uint64_t now = 0;
        if (!s->idle_source)
                return;
        if (s->n_connections > 0) {
                sd_event_source_set_enabled(s->idle_source, SD_EVENT_OFF);
                return;
        }
        sd_event_now(s->event, CLOCK_MONOTONIC, &now);
        sd_event_source_set_time(s->idle_source, now + (uint64_t) idle_exit_sec(s) * USEC_PER_SEC);
        sd_event_source_set_enabled(s->idle_source, SD_EVENT_ONESHOT);
}

static int on_idle(sd_event_source *source, uint64_t usec, void *userdata) {
        Server *s = userdata;
        (void) source, (void) usec;
        if (s->rewrap_on) {
                /* Not idle: the rewrap would have to wait for a client. */
                server_idle_arm(s);
                return 0;
        }
        log_info("no clients for %d s, exiting", idle_exit_sec(s));
        return sd_event_exit(s->event, 0);
}

static void on_group_release(void *userdata, void *tag, const JsonOut *replacement) {
        (void) userdata;
        connection_release(tag, replacement);
}

/* The connection callbacks: frames go to dispatch, with the server's
 * context, which connections never see. */
static int on_connection_frame(void *userdata, Connection *c, const Peer *peer, uint64_t principal, uint8_t *body,
                               size_t size, int fd, JsonOut *out) {
        Server *s = userdata;
        int r = dispatch_frame_fd(&s->ctx, peer, principal, body, size, fd, c, out);
        server_background_after_frame(s);
        return r == DISPATCH_HELD ? CONNECTION_REPLY_HELD : r == DISPATCH_DEFERRED ? CONNECTION_REPLY_DEFERRED : 0;
}

static void on_connection_frame_error(void *userdata, const Peer *peer, int error, JsonOut *out) {
        Server *s = userdata;
        dispatch_frame_error(&s->ctx, peer, error, out);
}

static void on_connection_closed(void *userdata, Connection *c) {
        Server *s = userdata;
        /* Its deferred request, if it has one, is cancelled; a held
         * reply has no one to go to. */
        dispatch_deferred_cancel(&s->ctx, c);
        dispatch_group_forget(&s->ctx, c);
        if (c->prev)
                c->prev->next = c->next;
        else
                s->connections = c->next;
        if (c->next)
                c->next->prev = c->prev;
        connection_free(c);
        s->ctx.n_connections = --s->n_connections;
        server_idle_arm(s);
        server_accept_resume(s); /* a descriptor is free again */
}

static int on_audit_flush(sd_event_source *source, uint64_t usec, void *userdata) {
        Server *s = userdata;
        dispatch_flush(&s->ctx);
        sd_event_source_set_time(source, usec + VAULT_AUDIT_FLUSH_USEC);
        return sd_event_source_set_enabled(source, SD_EVENT_ON);
}

static int on_signal(sd_event_source *source, const struct signalfd_siginfo *si, void *userdata) {
        Server *s = userdata;
        (void) source;
        log_info("received %s, exiting", strsignal((int) si->ssi_signo));
        return sd_event_exit(s->event, 0);
}

/* SIGHUP: the policy file again (dispatch logs what came of it), then
 * every client's principal under the policy now in force, which its
 * next frame is checked and rate-limited as and its turns are taken as. */
static int on_reload(sd_event_source *source, const struct signalfd_siginfo *si, void *userdata) {
        Server *s = userdata;
        unsigned n_unmoved = 0;
        (void) source, (void) si;

        (void) dispatch_policy_reload(&s->ctx);
        for (Connection *c = s->connections; c; c = c->next)
                if (connection_set_principal(c, dispatch_principal(&s->ctx, &c->peer)) < 0)
                        n_unmoved++;
        if (n_unmoved > 0)
                log_warning("out of memory: %u connections keep taking turns with their principal before the "
                            "reload",
                            n_unmoved);
        return 0;
}

int server_new(const ServerConfig *config, Vault *vault, Server **ret) {
        Server *s;
        int r, n;

        s = calloc(1, sizeof(Server));
        if (!s)
                return -ENOMEM;
        s->config = *config;
        s->listen_fd = -1;
        s->credential_fd = -1;
        s->ctx.vault = vault;
        s->ctx.dev_key_path = config->dev_key_path;
        s->ctx.group.release = on_group_release;
        s->ctx.group.userdata = s;
        r = dispatch_policy_init(&s->ctx, config->policy_path);
        if (r < 0)
                goto fail;

        s->scratch = sodium_malloc(FRAME_SIZE_MAX);
        if (!s->scratch) {
                r = -ENOMEM;
                goto fail;
        }
        r = sd_event_default(&s->event);
        if (r < 0)
                goto fail;
        sd_event_now(s->event, CLOCK_MONOTONIC, &s->ctx.started_usec);
        r = scheduler_new(s->event, (size_t) config->max_connections, &s->scheduler);
        if (r < 0)
                goto fail;
        s->connection_config = (ConnectionConfig) {
                .event = s->event,
                .scratch = s->scratch,
                .scheduler = s->scheduler,
                .io_timeout_usec = (uint64_t) config->io_timeout_sec * USEC_PER_SEC,
                .idle_timeout_usec = (uint64_t) config->client_idle_sec * USEC_PER_SEC,
                .on_frame = on_connection_frame,
                .on_frame_error = on_connection_frame_error,
                .on_closed = on_connection_closed,
                .userdata = s,
        };

        n = listen_fds_activated(&s->listen_fd, &s->credential_fd);
        if (n < 0) {
                r = n;
                goto fail;
        }
        s->socket_activated = n > 0;
        if (!s->socket_activated) {
                r = listen_on_path(config->socket_path, config->socket_mode, &s->listen_fd);
                if (r < 0) {
                        log_error("cannot listen on %s: %s", config->socket_path,
                                  r == -EADDRINUSE ? "another credvaultd is serving it" : strerror(-r));
                        goto fail;
                }
                s->owns_socket_path = true;
        }
        /* Only root (the service manager) has any use for it: 0600. */
        if (s->credential_fd < 0 && config->credential_socket_path) {
                r = listen_on_path(config->credential_socket_path, 0600, &s->credential_fd);
                if (r < 0) {
                        log_error("cannot listen on %s: %s", config->credential_socket_path,
                                  r == -EADDRINUSE ? "another credvaultd is serving it" : strerror(-r));
                        goto fail;
                }
                s->owns_credential_path = true;
        }
        r = server_accept_add(s);
        if (r < 0)
                goto fail;
        r = sd_event_add_signal(s->event, NULL, SIGTERM | SD_EVENT_SIGNAL_PROCMASK, on_signal, s);
        if (r >= 0)
                r = sd_event_add_signal(s->event, NULL, SIGINT | SD_EVENT_SIGNAL_PROCMASK, on_signal, s);
        if (r >= 0)
                r = sd_event_add_signal(s->event, NULL, SIGHUP | SD_EVENT_SIGNAL_PROCMASK, on_reload, s);
        if (r < 0)
                goto fail;
        signal(SIGPIPE, SIG_IGN);
        r = sd_event_add_time_relative(s->event, &s->audit_source, CLOCK_MONOTONIC, VAULT_AUDIT_FLUSH_USEC,
                                       VAULT_AUDIT_FLUSH_USEC / 4, on_audit_flush, s);
        if (r < 0)
                goto fail;
        r = server_background_add(s);
        if (r < 0)
                goto fail;
        if (idle_exit_sec(s) > 0) {
                r = sd_event_add_time(s->event, &s->idle_source, CLOCK_MONOTONIC, 0, USEC_PER_SEC, on_idle, s);
                if (r < 0)
                        goto fail;
                server_idle_arm(s);
        }
        (void) sd_event_set_watchdog(s->event, true);

        *ret = s;
        return 0;
fail:
        server_free(s);
        return r;
}

int server_run(Server *s) {
        /* Two socket paths (at most 108 bytes each) and the words. */
        char status[320];
        const char *credentials = s->credential_fd < 0      ? NULL
                                  : s->owns_credential_path ? s->config.credential_socket_path
                                                            : "the activation socket named " LISTEN_NAME_CREDENTIALS;
        snprintf(status, sizeof(status), "READY=1\nSTATUS=Serving on %s%s%s",
                 s->socket_activated ? "the activation socket" : s->config.socket_path,
                 credentials ? ", credentials on " : "", credentials ?: "");
        (void) sd_notify(0, status);
        log_info("ready (%s)", status + strlen("READY=1\nSTATUS="));

        int r = sd_event_loop(s->event);
        dispatch_group_end(&s->ctx);
        dispatch_flush(&s->ctx);
        (void) sd_notify(0, "STOPPING=1\nSTATUS=Shutting down");
        return r;
}

void server_free(Server *s) {
        if (!s)
                return;
        /* The held replies go before their connections do. */
        dispatch_group_end(&s->ctx);
        while (s->connections) {
                Connection *c = s->connections;
                s->connections = c->next;
                connection_free(c);
        }
        while (s->credential_conns) {
                CredentialConn *cc = s->credential_conns;
                s->credential_conns = cc->next;
                credential_conn_free(cc);
        }
        sd_event_source_disable_unref(s->credential_source);
        if (s->credential_fd >= 0)
                close(s->credential_fd);
        if (s->owns_credential_path)
                unlink(s->config.credential_socket_path);
        scheduler_free(s->scheduler);
        sd_event_source_disable_unref(s->listen_source);
        sd_event_source_disable_unref(s->accept_retry_source);
        sd_event_source_disable_unref(s->idle_source);
        sd_event_source_disable_unref(s->audit_source);
        sd_event_source_disable_unref(s->rewrap_source);
        sd_event_source_disable_unref(s->rewrap_timer);
        sd_event_source_disable_unref(s->sweep_source);
        sd_event_source_disable_unref(s->deferred_source);
        sd_event_source_disable_unref(s->deferred_timer);
        sd_event_source_disable_unref(s->group_source);
        sd_event_source_disable_unref(s->group_timer);
        if (s->listen_fd >= 0)
                close(s->listen_fd);
        if (s->owns_socket_path)
                unlink(s->config.socket_path);
        sd_event_unref(s->event);
        sodium_free(s->scratch);
        dispatch_done(&s->ctx);
        free(s);
}
