/* dispatch.h — one request frame in, one reply out.
 *
 * Owns: the handler of each op (what each op is, writes or reveals, is
 * proto's op table), the shape of every reply's head and of every error
 * reply, frame-level ones included, and the audit record of each request,
 * bad frame and refused connection. Never: socket I/O or framing; that is
 * the connection's. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "json-out.h"
#include "peer.h"
#include "backoff.h"
#include "policy.h"
#include "proto-limits.h"
#include "refresher-reports.h"
#include "request.h"
#include "vault.h"

typedef struct DispatchRates DispatchRates;
typedef struct Context Context;
typedef struct Failure Failure;

/* The work of a request whose reply waits for it (backup): done in steps
 * by the server's loop between other requests (dispatch_deferred_step()),
 * its reply sent when it is complete (dispatch_deferred_reply()). */
typedef struct DeferredWork {
        /* One step: 1 while more is to do, 0 when done, -errno (f
         * filled) when it failed. */
        int (*step)(Context *ctx, void *data, Failure *f);
        /* Done: write the reply's members, or fail (-errno, f filled). */
        int (*reply)(Context *ctx, void *data, JsonOut *reply, Failure *f);
        /* Done, failed or cancelled: free data and what it holds. */
        void (*free)(void *data);
} DeferredWork;

/* The one deferred request (at most one at a time, daemon-wide). */
typedef struct DispatchDeferred {
        const DeferredWork *work; /* NULL: none */
        void *data;
        void *tag; /* the caller's handle of the request's connection */
        bool has_id;
        uint64_t id;
        int result; /* of the last step: > 0 running, 0 done, < 0 failed */
        AuditEntry entry;
        char message[ERROR_MESSAGE_SIZE_MAX]; /* a failed step's Failure message */
} DispatchDeferred;

/* Group commit (write-group.c): writes that arrive together share one
 * transaction and one fsync. Each reply of the open group is held (by
 * the connection: DISPATCH_HELD) until the group is durable, then
 * released through release(); a group that fails to commit has each
 * success replaced by the commit's error. */
#define DISPATCH_GROUP_MAX 64
/* The longest a group stays open (its writes wait this long at most, on
 * top of the commit). */
#define DISPATCH_GROUP_WAIT_USEC (2 * 1000ULL)
typedef struct DispatchHeld {
        void *tag; /* the connection's; NULL once released or gone */
        bool has_id;
        uint64_t id;
        int result; /* the request's own: < 0 it failed alone */
        bool reserved;
        AuditEntry entry; /* for the journal, written once the group ends */
} DispatchHeld;

typedef struct DispatchGroup {
        DispatchHeld *held; /* DISPATCH_GROUP_MAX, allocated on first use */
        size_t n;
        uint64_t opened_usec;             /* CLOCK_MONOTONIC, when the open group began */
        uint64_t commits, writes, failed; /* since the start: groups, the writes in them, groups that failed */
        /* The owner's: send the held reply of the connection tag, or
         * instead replacement (finished) when it is not NULL. */
        void (*release)(void *userdata, void *tag, const JsonOut *replacement);
        void *userdata;
} DispatchGroup;

struct Context {
        Vault *vault;
        uint64_t started_usec; /* CLOCK_MONOTONIC, as time_monotonic_usec() */
        unsigned n_connections;
        /* The policy in force (never NULL once the server runs) and the
         * file it came from: NULL when the daemon runs without one and
         * serves admins only. */
        Policy *policy;
        const char *policy_path;
        int64_t policy_loaded_at; /* unix seconds */
        /* The last reload that failed, and why ("" if the last one worked). */
        char policy_error[POLICY_ERROR_SIZE];
        DispatchRates *rates;      /* per-principal token buckets */
        uint64_t audit_retry_usec; /* a failing audit trail is tried again from then (monotonic) */
        Backoff audit_log;         /* how often its failure is logged */
        /* The caller of the request being handled, for the handlers that
         * describe it (whoami); NULL between requests. */
        const Peer *peer;
        /* The development key's path when the daemon runs on it (--dev
         * and no other key), else NULL: key.rotate_root without a key
         * then makes the new one. */
        const char *dev_key_path;
        /* During a handler: the descriptor passed with the request
         * (SCM_RIGHTS), -1 if none; a handler that keeps it sets -1, and
         * dispatch closes one left. request_tag is the caller's handle of
         * the connection (NULL: the reply cannot be deferred). */
        int request_fd;
        void *request_tag;
        DispatchDeferred deferred;
        DispatchGroup group;
        /* What refreshers last said of each plugin (refresher.report). */
        RefresherReports refresher_reports;
};

/* What a handler says about its failure, besides the errno: a message for
 * the client (never a value), and a retry hint where waiting helps. */
struct Failure {
        char message[ERROR_MESSAGE_SIZE_MAX];
        int64_t retry_after_ms; /* -1: none */
        int64_t expires_at;     /* -1: none; for refresh_required */
};

/* The key peer is scheduled and rate-limited by under the policy in
 * force: its policy principal (policy_principal_find()), or its uid when
 * no entry names it. Peers with the same key share a fair share and a
 * token bucket. Recompute it for every connection after a reload. */
uint64_t dispatch_principal(const Context *ctx, const Peer *peer);

/* Set up ctx's policy: policy_path NULL means none (admins only), else
 * the file is loaded and must validate. 0 or -errno, with the reason
 * logged. */
int dispatch_policy_init(Context *ctx, const char *policy_path);
/* SIGHUP: load the file again; a file that does not validate leaves the
 * old policy in force and the reason in ctx->policy_error and the log.
 * Rate buckets start full again. */
int dispatch_policy_reload(Context *ctx);
/* Put p in force (taking it) with fresh buckets for its principals; for
 * a Context without a file (the fuzzer). -ENOMEM leaves p the caller's. */
int dispatch_policy_set(Context *ctx, Policy *p);
void dispatch_done(Context *ctx);

/* Write the audit records gathered so far, to the log and to the audit
 * table; the server calls it every VAULT_AUDIT_FLUSH_USEC and at exit
 * (after dispatch_group_end()). Nothing while a write group is open. */
void dispatch_flush(Context *ctx);

/* Decode, check (policy, rate limit, audit trail), run and audit one
 * request, and write its reply (the JSON body, unframed) into out,
 * finished (json_out_finish() done). body is parsed in place. principal
 * is dispatch_principal() of peer. */
void dispatch_frame(Context *ctx, const Peer *peer, uint64_t principal, uint8_t *body, size_t body_size, JsonOut *out);

/* The same with what came beside the frame: fd, a descriptor passed with
 * it (-1: none), is taken (a handler keeps it, or it is closed), and tag
 * is the caller's handle of the connection, kept by a request whose
 * reply is deferred. Returns 0 when out holds the reply, or
 * DISPATCH_DEFERRED when the reply comes later, from
 * dispatch_deferred_reply() with this tag (out is then left as it was);
 * the caller handles no further frame of that connection meanwhile. */
#define DISPATCH_DEFERRED 1
/* Or DISPATCH_HELD when out holds the reply, finished, but the connection
 * is to keep it until the group it is in ends (DispatchGroup.release). */
#define DISPATCH_HELD 2
int dispatch_frame_fd(Context *ctx, const Peer *peer, uint64_t principal, uint8_t *body, size_t body_size, int fd,
                      void *tag, JsonOut *out);

/* For a handler: its reply is deferred; work runs in steps on data (taken:
 * work->free() frees it whatever happens). -EBUSY if a deferred request
 * is running already, -EOPNOTSUPP if the request's caller cannot wait
 * for a deferred reply (no tag). */
int dispatch_defer(Context *ctx, const DeferredWork *work, void *data);
/* Whether a deferred request has steps to run (cheap: after every frame). */
bool dispatch_deferred_wanted(const Context *ctx);
/* One step of it: 1 while more is to do, 0 when none runs any more (it
 * is complete, or failed: dispatch_deferred_reply() has its reply). */
int dispatch_deferred_step(Context *ctx);
/* The reply of a deferred request that is complete or failed, written
 * finished into out and audited; returns its tag, or NULL (out untouched)
 * if there is none to send. */
void *dispatch_deferred_reply(Context *ctx, JsonOut *out);
/* The connection tag is gone (closed, or the daemon stopping): its
 * deferred request, if any, is cancelled, cleaned up and audited. */
void dispatch_deferred_cancel(Context *ctx, void *tag);

/* Whether a write group is open (it ends when dispatch_group_end() is
 * called, or by itself when a request that cannot join it comes). */
bool dispatch_group_open(const Context *ctx);
/* Commit the open group and release its replies: the owner calls it once
 * no more requests wait, and at exit. Every other entry point that
 * writes (the rewrap, the sweep, the deferred steps, a policy reload)
 * calls it first itself; dispatch_flush() waits for it instead. */
void dispatch_group_end(Context *ctx);
/* The connection tag is gone: its held reply, if any, is dropped (the
 * write still commits with its group). */
void dispatch_group_forget(Context *ctx, void *tag);

/* A frame that could not be cut from the stream: error is frame_parse()'s
 * -EMSGSIZE (declared length over the cap) or -EBADMSG (empty). Writes its
 * finished error reply and audits it. */
void dispatch_frame_error(Context *ctx, const Peer *peer, int error, JsonOut *out);

/* A connection refused before anything was read (over a connection cap):
 * writes the finished reply to send before closing, and audits it. */
void dispatch_refuse(Context *ctx, const Peer *peer, JsonOut *out);

/* Handlers (daemon/ops/handlers-*.c): each writes its answer's members into
 * reply (inside the object whose "id" and "ok" dispatch has written), or
 * returns a negative errno and fills f. */
typedef int (*Handler)(Context *ctx, const Request *req, JsonOut *reply, Failure *f);

_printf_(2, 3) int failure_set(Failure *f, const char *fmt, ...);

int handle_health(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_secret_put(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_secret_get(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_secret_list(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_secret_delete(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_token_put(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_token_get(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_token_list(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_token_delete(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_token_refresh_begin(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_token_refresh_commit(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_token_refresh_fail(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_refresher_report(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_secret_generate(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_secret_verify(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_plugin_register(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_plugin_list(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_plugin_get(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_plugin_delete(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_manifest_auth(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_oauth_verify_client(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_apikey_put(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_apikey_lookup(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_apikey_list(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_apikey_delete(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_whoami(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_audit_list(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_audit_verify(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_audit_prune(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_key_rotate(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_key_rewrap(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_key_status(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_key_retire(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_key_rotate_root(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_key_recovery(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_backup(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
/* RFC 7009 revocation of deleted token sets (handlers-revocation.c). */
int handle_token_revocation_list(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_token_revocation_begin(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_token_revocation_end(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
/* key.rewrap's background part (handlers-key.c), for the server's loop:
 * one batch of the running rewrap. 1 if more is to do, 0 if none runs (or
 * it just finished), -errno if it stopped (logged). */
int key_rewrap_tick(Context *ctx);
/* Whether a rewrap runs and wants ticks (cheap: after every frame). */
bool key_rewrap_wanted(const Context *ctx);
int handle_secret_rotate(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_secret_promote(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_secret_history(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
/* secret.get of a pending or previous version (handlers-stage.c). */
int handle_secret_get_stage(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
/* The sweep of expired previous secret versions (handlers-stage.c), for
 * the server's loop: when the next one is due (unix seconds, 0: none;
 * cheap, after every frame), and one sweep: deletes those due, each with
 * its audit record. 1 if more are due at once, 0 if not, -errno if it
 * failed (not logged: the caller backs off and logs at its own rate). */
int64_t secret_sweep_next(const Context *ctx);
/* The op of the sweep's audit records: one per previous version deleted. */
#define AUDIT_OP_SECRET_EXPIRE "secret.expire"
int secret_sweep_tick(Context *ctx);

/* For requests that come other than as frames (the credential socket,
 * credential.h): whether the audit trail takes records now (0), else
 * -ESHUTDOWN, tried again as a frame's request would (fail closed); and
 * one record of peer (whose unit is given: the one it asked for, or its
 * own), flushed at once when result is an error. Returns
 * vault_audit_add()'s answer: a value must not be handed out when < 0. */
#define AUDIT_OP_CREDENTIAL_LOAD "credential.load"
int dispatch_audit_gate(Context *ctx);
int dispatch_audit_record(Context *ctx, const Peer *peer, const char *unit, const char *op, const char *plugin,
                          const char *object, int result, bool revealed);
