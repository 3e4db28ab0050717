/* server.c — listener, event loop and client set (see server.h). */
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
#include "server.h"
#include "time-util.h"

#define ACCEPTS_PER_WAKEUP 64
/* Socket-activated daemons exit after this long without clients unless
 * --idle-exit says otherwise; systemd starts them again on demand. */
#define IDLE_EXIT_DEFAULT_SEC 300
/* When accept() fails for want of descriptors (or memory) the listener
 * stays readable, and retrying at once would spin on it. It is switched
 * off until a connection closes, or this long (the shortage may be the
 * system's, ENFILE, or the limit lowered under us). */
#define ACCEPT_RETRY_USEC (250 * 1000ULL)
/* At most one warning about it this often; the pauses in between are
 * counted in the next. */
#define ACCEPT_WARN_INTERVAL_USEC (10 * USEC_PER_SEC)
/* The sweep of expired previous secret versions runs at least this often,
 * besides at each deadline: a deadline is a query's business at once
 * (they treat the version as gone), the sweep's only to delete it. */
#define SWEEP_INTERVAL_USEC (60 * USEC_PER_SEC)
/* Background work (a deferred request's, the backup; the KEK rewrap) gets
 * at least one step this often, however busy the loop is: a backup step
 * holds the loop about a millisecond (handlers-backup.c), a rewrap batch
 * about 300 µs, so under full load a backup still gets a sixth of the
 * daemon and a rewrap a sixteenth, and requests wait at most one step. */
#define BACKGROUND_SHARE_USEC (5 * USEC_PER_MSEC)
/* The write group commits below the turns: after every request that
 * waits (on_group()). */
#define GROUP_PRIORITY (SCHEDULER_PRIORITY + 1)

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

/* Connections of one uid, so that no single service can take every slot
 * and lock the others out (a scan: there are at most max_connections). */
static unsigned connections_of_uid(const Server *s, uid_t uid) {
        unsigned n = 0;
        for (const Connection *c = s->connections; c; c = c->next)
                n += c->peer.uid == uid;
        return n;
}

static int idle_exit_sec(const Server *s) {
        if (s->config.idle_exit_sec >= 0)
                return s->config.idle_exit_sec;
        return s->socket_activated ? IDLE_EXIT_DEFAULT_SEC : 0;
}

static void idle_arm(Server *s) {
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
                idle_arm(s);
                return 0;
        }
        log_info("no clients for %d s, exiting", idle_exit_sec(s));
        return sd_event_exit(s->event, 0);
}

/* A client over a connection cap gets one reply, sent without reading
 * anything from it, and is closed. The reply is small: if the socket will
 * not take it at once the client goes without, rather than hold a slot the
 * cap says we do not have. dispatch writes it, and audits the refusal. */
static void refuse_over_cap(Server *s, int fd, const Peer *peer) {
        JsonOut out;

        json_out_init(&out, (char *) s->scratch + FRAME_HEADER_SIZE, FRAME_BODY_MAX);
        dispatch_refuse(&s->ctx, peer, &out);
        frame_header_write(s->scratch, (uint32_t) out.size);
        size_t n = FRAME_HEADER_SIZE + out.size;
        (void) send(fd, s->scratch, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        sodium_memzero(s->scratch, n);
        close(fd);
}

/* Stop accepting (clients wait in the listen backlog) and keep serving
 * the clients we have; see ACCEPT_RETRY_USEC. */
static void accept_pause(Server *s, int error) {
        uint64_t now = 0;

        sd_event_now(s->event, CLOCK_MONOTONIC, &now);
        s->n_accept_pauses++;
        if (s->accept_warned_usec == 0 || now >= s->accept_warned_usec + ACCEPT_WARN_INTERVAL_USEC) {
                if (s->n_accept_pauses > 1)
                        log_warning("cannot accept connections: %s (%u open); new clients wait until one closes "
                                    "(%u times since the last warning)",
                                    strerror(error), s->n_connections, s->n_accept_pauses);
                else
                        log_warning("cannot accept connections: %s (%u open); new clients wait until one closes",
                                    strerror(error), s->n_connections);
                s->accept_warned_usec = now;
                s->n_accept_pauses = 0;
        }
        s->accept_paused = true;
        sd_event_source_set_enabled(s->listen_source, SD_EVENT_OFF);
        if (s->credential_source)
                sd_event_source_set_enabled(s->credential_source, SD_EVENT_OFF);
        sd_event_source_set_time(s->accept_retry_source, now + ACCEPT_RETRY_USEC);
        sd_event_source_set_enabled(s->accept_retry_source, SD_EVENT_ONESHOT);
}

static void accept_resume(Server *s) {
        if (!s->accept_paused)
                return;
        s->accept_paused = false;
        sd_event_source_set_enabled(s->accept_retry_source, SD_EVENT_OFF);
        sd_event_source_set_enabled(s->listen_source, SD_EVENT_ON);
        if (s->credential_source)
                sd_event_source_set_enabled(s->credential_source, SD_EVENT_ON);
}

static int on_accept_retry(sd_event_source *source, uint64_t usec, void *userdata) {
        (void) source, (void) usec;
        accept_resume(userdata);
        return 0;
}

static int on_accept(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        Server *s = userdata;
        (void) source, (void) revents;

        for (int i = 0; i < ACCEPTS_PER_WAKEUP; i++) {
                int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
                if (cfd < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return 0;
                        if (errno == ECONNABORTED)
                                continue; /* that client left; others may wait */
                        /* EMFILE, ENFILE, ENOBUFS, ENOMEM, or anything we
                         * cannot fix by trying again at once. */
                        accept_pause(s, errno);
                        return 0;
                }
                /* Read once, here: the per-uid cap needs it, then it moves
                 * into the connection (or the refusal's audit record). */
                _cleanup_(peer_done) Peer peer = {};
                int r = peer_from_socket(cfd, &peer);
                if (r < 0) {
                        log_warning("cannot set up connection: %s", strerror(-r));
                        close(cfd);
                        continue;
                }
                if (s->n_connections >= (unsigned) s->config.max_connections ||
                    connections_of_uid(s, peer.uid) >= (unsigned) s->config.max_connections_per_uid) {
                        refuse_over_cap(s, cfd, &peer);
                        continue;
                }

                Connection *c;
                r = connection_new(&s->connection_config, cfd, &peer, dispatch_principal(&s->ctx, &peer), &c);
                if (r < 0) {
                        log_warning("cannot set up connection: %s", strerror(-r));
                        continue;
                }
                c->next = s->connections;
                if (s->connections)
                        s->connections->prev = c;
                s->connections = c;
                s->ctx.n_connections = ++s->n_connections;
                idle_arm(s);
        }
        return 0;
}

static void on_credential_closed(void *userdata, CredentialConn *cc) {
        Server *s = userdata;
        if (cc->prev)
                cc->prev->next = cc->next;
        else
                s->credential_conns = cc->next;
        if (cc->next)
                cc->next->prev = cc->prev;
        credential_conn_free(cc);
        s->ctx.n_connections = --s->n_connections;
        idle_arm(s);
        accept_resume(s);
}

/* One LoadCredential= request: the peer's identity and its bound address
 * at once, the decision (credential.c), then the value out or the
 * connection closed with nothing written. Nothing is read from the peer,
 * so nothing it sends can hold the loop. */
static void credential_accept_one(Server *s, int cfd, const struct sockaddr_un *sa, socklen_t sa_size) {
        _cleanup_(secret_buf_freep) SecretBuf *value = NULL;
        _cleanup_(peer_done) Peer peer = {};
        CredentialConn *cc = NULL;

        int r = peer_from_socket(cfd, &peer);
        if (r < 0) {
                log_warning("credential socket: cannot set up connection: %s", strerror(-r));
                close(cfd);
                return;
        }
        /* It counts against the cap like any client (it holds a
         * descriptor and, while writing, a value); over it, the peer gets
         * EOF and the unit fails to start, which says more than a wait. */
        if (s->n_connections >= (unsigned) s->config.max_connections) {
                (void) dispatch_audit_record(&s->ctx, &peer, peer.unit, "connect", NULL, "too many connections",
                                             -ESHUTDOWN, false);
                close(cfd);
                return;
        }
        if (credential_serve(&s->ctx, &peer, sa, sa_size, &value) < 0) {
                close(cfd);
                return;
        }
        r = credential_conn_new(s->event, cfd, TAKE_PTR(value), s->connection_config.io_timeout_usec,
                                on_credential_closed, s, &cc);
        if (r < 0) {
                log_warning("credential socket: cannot write the value: %s", strerror(-r));
                return;
        }
        if (!cc)
                return;
        cc->next = s->credential_conns;
        if (s->credential_conns)
                s->credential_conns->prev = cc;
        s->credential_conns = cc;
        s->ctx.n_connections = ++s->n_connections;
        idle_arm(s);
}

static int on_credential_accept(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        Server *s = userdata;
        (void) source, (void) revents;

        for (int i = 0; i < ACCEPTS_PER_WAKEUP; i++) {
                /* The peer's bound address (what getpeername() would say)
                 * names the unit and the credential. */
                struct sockaddr_un sa = {};
                socklen_t sa_size = sizeof(sa);
                int cfd = accept4(fd, (struct sockaddr *) &sa, &sa_size, SOCK_CLOEXEC | SOCK_NONBLOCK);
                if (cfd < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return 0;
                        if (errno == ECONNABORTED)
                                continue;
                        accept_pause(s, errno);
                        return 0;
                }
                credential_accept_one(s, cfd, &sa, sa_size);
        }
        return 0;
}

static void rewrap_enable(Server *s, bool on) {
        if (!s->rewrap_source || s->rewrap_on == on)
                return;
        s->rewrap_on = on;
        sd_event_source_set_enabled(s->rewrap_source, on ? SD_EVENT_ON : SD_EVENT_OFF);
        if (on) {
                s->rewrap_last_usec = time_monotonic_usec();
                sd_event_source_set_time(s->rewrap_timer, s->rewrap_last_usec + BACKGROUND_SHARE_USEC);
        }
        sd_event_source_set_enabled(s->rewrap_timer, on ? SD_EVENT_ON : SD_EVENT_OFF);
}

static void rewrap_step(Server *s) {
        s->rewrap_last_usec = time_monotonic_usec();
        if (key_rewrap_tick(&s->ctx) <= 0)
                rewrap_enable(s, false);
}

/* One batch; sd-event runs it only when nothing of higher priority (a
 * frame, a timer) is pending, so requests are answered between batches. */
static int on_rewrap(sd_event_source *source, void *userdata) {
        (void) source;
        rewrap_step(userdata);
        return 0;
}

/* Under a steady stream of requests the idle source never runs: at least
 * one batch (about 300 µs, handlers-key.c) every BACKGROUND_SHARE_USEC,
 * so a rewrap under full load still ends, and a request waits at most
 * one batch for it. */
static int on_rewrap_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        Server *s = userdata;
        (void) usec;
        if (time_monotonic_usec() >= s->rewrap_last_usec + BACKGROUND_SHARE_USEC)
                rewrap_step(s);
        if (s->rewrap_on) {
                sd_event_source_set_time(source, s->rewrap_last_usec + BACKGROUND_SHARE_USEC);
                sd_event_source_set_enabled(source, SD_EVENT_ON);
        }
        return 0;
}

/* The sweep timer at the next deadline, or at most SWEEP_INTERVAL_USEC
 * away; soon: at once (more were due than one sweep takes). Never before
 * the back-off after a failure ends: the overdue deadline that failed
 * would fire it again at once, and spin. */
static void sweep_arm(Server *s, bool soon) {
        uint64_t now = 0, at;
        if (!s->sweep_source)
                return;
        sd_event_now(s->event, CLOCK_REALTIME, &now);
        at = soon ? now : now + SWEEP_INTERVAL_USEC;
        int64_t next = secret_sweep_next(&s->ctx);
        if (next > 0 && (uint64_t) next * USEC_PER_SEC < at)
                at = (uint64_t) next * USEC_PER_SEC;
        if (at < s->sweep_retry_at)
                at = s->sweep_retry_at;
        if (at == s->sweep_at)
                return;
        s->sweep_at = at;
        sd_event_source_set_time(s->sweep_source, at);
        sd_event_source_set_enabled(s->sweep_source, SD_EVENT_ONESHOT);
}

/* A failed sweep (error: -errno, or 0: it removed nothing yet left
 * versions overdue): the next waits 1 s, doubling to 60 s, and the line
 * says so once, then once per ten minutes with the count. */
static void sweep_failed(Server *s, int error, uint64_t now) {
        unsigned unlogged = 0;
        bool log = false;

        uint64_t delay = backoff_failed(&s->sweep_backoff, time_monotonic_usec(), &log, &unlogged);
        s->sweep_retry_at = now + delay;
        if (!log)
                return;
        const char *why = error < 0 ? strerror(-error) : "they remain after a sweep";
        if (unlogged > 0)
                log_error("expired previous secret versions could not be deleted: %s; retrying in %llu s (%u failed "
                          "sweeps since the last message)",
                          why, (unsigned long long) (delay / USEC_PER_SEC), unlogged);
        else
                log_error("expired previous secret versions could not be deleted: %s; retrying in %llu s, then less "
                          "and less often (at most every %llu s)",
                          why, (unsigned long long) (delay / USEC_PER_SEC),
                          (unsigned long long) (BACKOFF_MAX_USEC / USEC_PER_SEC));
}

static int on_sweep(sd_event_source *source, uint64_t usec, void *userdata) {
        Server *s = userdata;
        uint64_t now = 0;
        (void) source, (void) usec;

        s->sweep_at = 0;
        int r = secret_sweep_tick(&s->ctx);
        sd_event_now(s->event, CLOCK_REALTIME, &now);
        /* Overdue still, and not because the batch was full: the same
         * rows would be tried again at once. Only a sweep that removed
         * rows runs again at once. */
        int64_t next = secret_sweep_next(&s->ctx);
        if (r == 0 && next > 0 && (uint64_t) next * USEC_PER_SEC <= now)
                sweep_failed(s, 0, now);
        else if (r < 0)
                sweep_failed(s, r, now);
        else {
                unsigned failures = backoff_succeeded(&s->sweep_backoff);
                if (failures > 0)
                        log_info("expired previous secret versions are deleted again, after %u failed sweeps",
                                 failures);
                s->sweep_retry_at = 0;
        }
        sweep_arm(s, r > 0);
        return 0;
}

static void deferred_enable(Server *s, bool on) {
        if (!s->deferred_source || s->deferred_on == on)
                return;
        s->deferred_on = on;
        sd_event_source_set_enabled(s->deferred_source, on ? SD_EVENT_ON : SD_EVENT_OFF);
        if (on) {
                s->deferred_last_usec = time_monotonic_usec();
                sd_event_source_set_time(s->deferred_timer, s->deferred_last_usec + BACKGROUND_SHARE_USEC);
        }
        sd_event_source_set_enabled(s->deferred_timer, on ? SD_EVENT_ON : SD_EVENT_OFF);
}

/* One step of a deferred request's work (a backup). Once it is done its
 * reply goes to the connection that waits for it. */
static void deferred_step(Server *s) {
        JsonOut out;

        s->deferred_last_usec = time_monotonic_usec();
        if (dispatch_deferred_step(&s->ctx) > 0)
                return;
        deferred_enable(s, false);
        json_out_init(&out, (char *) s->scratch + FRAME_HEADER_SIZE, FRAME_BODY_MAX);
        Connection *c = dispatch_deferred_reply(&s->ctx, &out);
        if (c)
                connection_reply_deferred(c, &out);
}

/* Steps run at the lowest priority, as the rewrap's batches do: whenever
 * no request waits, back to back, so an idle daemon copies at full
 * speed, and requests are answered between steps. */
static int on_deferred(sd_event_source *source, void *userdata) {
        (void) source;
        deferred_step(userdata);
        return 0;
}

/* Under a steady stream of requests the loop is never idle, and the idle
 * source would never run (a backup during a write burst took 40 s for
 * 10 MB): at least one step every BACKGROUND_SHARE_USEC, whatever waits. */
static int on_deferred_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        Server *s = userdata;
        (void) usec;
        if (time_monotonic_usec() >= s->deferred_last_usec + BACKGROUND_SHARE_USEC)
                deferred_step(s);
        if (s->deferred_on) {
                sd_event_source_set_time(source, s->deferred_last_usec + BACKGROUND_SHARE_USEC);
                sd_event_source_set_enabled(source, SD_EVENT_ON);
        }
        return 0;
}

/* The open write group commits: sd-event runs this only when nothing of
 * higher priority is pending, that is once every socket found readable
 * has been read and every turn taken, so the group holds all the writes
 * that came together (write-group.c). */
static int on_group(sd_event_source *source, void *userdata) {
        Server *s = userdata;
        (void) source;
        dispatch_group_end(&s->ctx);
        return 0;
}

static void group_timer_arm(Server *s) {
        int on = SD_EVENT_OFF;
        (void) sd_event_source_get_enabled(s->group_timer, &on);
        if (on != SD_EVENT_OFF)
                return;
        sd_event_source_set_time(s->group_timer, s->ctx.group.opened_usec + DISPATCH_GROUP_WAIT_USEC);
        sd_event_source_set_enabled(s->group_timer, SD_EVENT_ONESHOT);
}

/* The bound on a group's wait: under a loop that never goes idle (a
 * client flooding it, even with requests that are refused), on_group()
 * would not run. A group opened since the timer was set waits for its
 * own time. */
static int on_group_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        Server *s = userdata;
        (void) source;
        if (!dispatch_group_open(&s->ctx))
                return 0;
        if (usec >= s->ctx.group.opened_usec + DISPATCH_GROUP_WAIT_USEC)
                dispatch_group_end(&s->ctx);
        else
                group_timer_arm(s);
        return 0;
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
        /* A write group is open: it commits once no request waits, or
         * when it has waited long enough. */
        if (dispatch_group_open(&s->ctx)) {
                sd_event_source_set_enabled(s->group_source, SD_EVENT_ONESHOT);
                group_timer_arm(s);
        }
        /* key.rewrap may have started one. */
        if (!s->rewrap_on && key_rewrap_wanted(&s->ctx))
                rewrap_enable(s, true);
        /* secret.promote may have set an earlier deadline. */
        int64_t next = secret_sweep_next(&s->ctx);
        if (next > 0 && (uint64_t) next * USEC_PER_SEC < s->sweep_at)
                sweep_arm(s, false);
        /* And backup deferred work. */
        if (!s->deferred_on && dispatch_deferred_wanted(&s->ctx))
                deferred_enable(s, true);
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
        idle_arm(s);
        accept_resume(s); /* a descriptor is free again */
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
        if (s->credential_fd >= 0) {
                r = sd_event_add_io(s->event, &s->credential_source, s->credential_fd, EPOLLIN, on_credential_accept,
                                    s);
                if (r < 0)
                        goto fail;
        }

        r = sd_event_add_io(s->event, &s->listen_source, s->listen_fd, EPOLLIN, on_accept, s);
        if (r < 0)
                goto fail;
        r = sd_event_add_time(s->event, &s->accept_retry_source, CLOCK_MONOTONIC, 0, ACCEPT_RETRY_USEC / 10,
                              on_accept_retry, s);
        if (r < 0)
                goto fail;
        sd_event_source_set_enabled(s->accept_retry_source, SD_EVENT_OFF);
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
        /* A rewrap the vault resumed at open starts at once. */
        r = sd_event_add_defer(s->event, &s->rewrap_source, on_rewrap, s);
        if (r >= 0)
                r = sd_event_source_set_priority(s->rewrap_source, SD_EVENT_PRIORITY_IDLE);
        if (r < 0)
                goto fail;
        sd_event_source_set_enabled(s->rewrap_source, SD_EVENT_OFF);
        r = sd_event_add_time(s->event, &s->rewrap_timer, CLOCK_MONOTONIC, 0, USEC_PER_MSEC, on_rewrap_timer, s);
        if (r < 0)
                goto fail;
        sd_event_source_set_enabled(s->rewrap_timer, SD_EVENT_OFF);
        rewrap_enable(s, key_rewrap_wanted(&s->ctx));
        /* Versions that expired while the daemon was stopped go at once. */
        r = sd_event_add_time(s->event, &s->sweep_source, CLOCK_REALTIME, 0, USEC_PER_SEC / 10, on_sweep, s);
        if (r < 0)
                goto fail;
        sweep_arm(s, false);
        r = sd_event_add_defer(s->event, &s->deferred_source, on_deferred, s);
        if (r >= 0)
                r = sd_event_source_set_priority(s->deferred_source, SD_EVENT_PRIORITY_IDLE);
        if (r < 0)
                goto fail;
        sd_event_source_set_enabled(s->deferred_source, SD_EVENT_OFF);
        r = sd_event_add_time(s->event, &s->deferred_timer, CLOCK_MONOTONIC, 0, USEC_PER_MSEC, on_deferred_timer, s);
        if (r < 0)
                goto fail;
        sd_event_source_set_enabled(s->deferred_timer, SD_EVENT_OFF);
        r = sd_event_add_defer(s->event, &s->group_source, on_group, s);
        if (r >= 0)
                r = sd_event_source_set_priority(s->group_source, GROUP_PRIORITY);
        if (r < 0)
                goto fail;
        sd_event_source_set_enabled(s->group_source, SD_EVENT_OFF);
        r = sd_event_add_time(s->event, &s->group_timer, CLOCK_MONOTONIC, 0, 100, on_group_timer, s);
        if (r < 0)
                goto fail;
        sd_event_source_set_enabled(s->group_timer, SD_EVENT_OFF);
        if (idle_exit_sec(s) > 0) {
                r = sd_event_add_time(s->event, &s->idle_source, CLOCK_MONOTONIC, 0, USEC_PER_SEC, on_idle, s);
                if (r < 0)
                        goto fail;
                idle_arm(s);
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
