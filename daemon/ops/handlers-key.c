/* handlers-key.c — KEK rotation: key.rotate, key.rewrap, key.status,
 * key.retire (one vault call each), and the rewrap's background step that
 * the server's event loop runs between requests.
 *
 * The rewrap's state lives in the vault (it must survive nothing but the
 * process, and a restart resumes it from the meta row); the server only
 * decides when a step runs: at its lowest priority, when no request is
 * waiting, one batch at a time, each batch sized to take about
 * REWRAP_STEP_USEC. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "dispatch.h"
#include "handlers.h"
#include "log.h"
#include "time-util.h"

int handle_key_rotate(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        int64_t primary, previous;
        (void) req, (void) f;
        int r = vault_key_rotate(ctx->vault, &primary, &previous);
        if (r < 0)
                return r;
        log_info("KEK %" PRIi64 " is the primary, KEK %" PRIi64 " active until its records are rewrapped", primary,
                 previous);
        json_out_int(reply, "primary", primary);
        json_out_int(reply, "previous", previous);
        return 0;
}

int handle_key_rewrap(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        VaultRewrap st;
        (void) req, (void) f;
        int r = vault_key_rewrap_start(ctx->vault, &st);
        if (r < 0)
                return r;
        json_out_bool(reply, "running", st.running);
        json_out_int(reply, "remaining", st.remaining);
        return 0;
}

int handle_key_status(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        VaultKek *keks = NULL;
        VaultRewrap st;
        size_t n = 0;
        (void) req, (void) f;
        int r = vault_key_status(ctx->vault, &keks, &n, &st);
        if (r < 0)
                return r;
        json_out_open_array(reply, "keks");
        for (size_t i = 0; i < n; i++) {
                json_out_open_object(reply, NULL);
                json_out_int(reply, "version", keks[i].version);
                json_out_cstring(reply, "state", keks[i].state);
                json_out_int(reply, "records", keks[i].records);
                json_out_int(reply, "created", keks[i].created_at);
                json_out_close_object(reply);
        }
        json_out_close_array(reply);
        free(keks);
        json_out_open_object(reply, "rewrap");
        json_out_bool(reply, "running", st.running);
        json_out_int(reply, "remaining", st.remaining);
        json_out_int(reply, "done", st.done);
        json_out_int(reply, "rate", (int64_t) (st.rate + 0.5));
        json_out_bool(reply, "approximate", st.approximate);
        if (st.started_at > 0)
                json_out_int(reply, "started_at", st.started_at);
        else
                json_out_null(reply, "started_at");
        json_out_close_object(reply);
        return 0;
}

int handle_key_retire(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        int64_t records = 0;
        int r = vault_key_retire(ctx->vault, req->version, &records);
        if (r == -ENOENT)
                failure_set(f, "no KEK %" PRIi64, req->version);
        else if (r == -EEXIST && records < 0)
                failure_set(f, "KEK %" PRIi64 " is the primary", req->version);
        else if (r == -EEXIST)
                failure_set(f, "KEK %" PRIi64 " still wraps %" PRIi64 " records: run credvault key rewrap",
                            req->version, records);
        if (r < 0)
                return r;
        log_info("KEK %" PRIi64 " retired", req->version);
        json_out_int(reply, "retired", req->version);
        return 0;
}

/* A step (one transaction) should hold the loop about this long, commit
 * included: a request that arrives meanwhile waits at most that, so
 * secret.get's p99 stays under a millisecond while the rewrap runs. The
 * records a step moves are sized from the last step's time (halfway
 * towards the size that would have taken REWRAP_STEP_USEC, to ride out a
 * step the kernel preempted): about 20-30 records on the 2-core machine. */
#define REWRAP_STEP_USEC 300
#define REWRAP_BATCH_MIN 8
#define REWRAP_BATCH_MAX VAULT_REWRAP_BATCH
static unsigned rewrap_batch = 32;

static unsigned batch_next(unsigned batch, int64_t done, uint64_t took_usec) {
        if (done < (int64_t) batch || took_usec == 0)
                return batch; /* the last one: no measure of a full step */
        uint64_t want = (uint64_t) done * REWRAP_STEP_USEC / took_usec;
        want = (want + batch) / 2;
        return want < REWRAP_BATCH_MIN   ? REWRAP_BATCH_MIN
               : want > REWRAP_BATCH_MAX ? REWRAP_BATCH_MAX
                                         : (unsigned) want;
}

bool key_rewrap_wanted(const Context *ctx) {
        return ctx->vault && vault_key_rewrap_running(ctx->vault);
}

int key_rewrap_tick(Context *ctx) {
        int64_t done = 0, remaining = 0;

        if (!ctx->vault || !vault_key_rewrap_running(ctx->vault))
                return 0;
        dispatch_group_end(ctx);
        uint64_t started = time_monotonic_usec();
        int r = vault_key_rewrap_step(ctx->vault, rewrap_batch, &done, &remaining);
        if (r >= 0)
                rewrap_batch = batch_next(rewrap_batch, done, time_monotonic_usec() - started);
        if (r < 0) {
                VaultRewrap st;
                VaultKek *keks = NULL;
                size_t n = 0;
                if (r == -EUCLEAN && vault_key_status(ctx->vault, &keks, &n, &st) >= 0 && st.damaged > 0) {
                        free(keks);
                        log_error("KEK rewrap stopped: the %" PRIi64 " records left do not authenticate (a damaged "
                                  "or altered database; first: %s); restore or delete them, then run key.rewrap",
                                  st.damaged, st.first_damaged);
                } else {
                        free(keks);
                        log_error("KEK rewrap stopped: %s; key.rewrap (or a restart) resumes it", strerror(-r));
                }
                return r;
        }
        if (!vault_key_rewrap_running(ctx->vault)) {
                VaultRewrap st;
                VaultKek *keks = NULL;
                size_t n = 0;
                if (vault_key_status(ctx->vault, &keks, &n, &st) >= 0) {
                        free(keks);
                        if (st.damaged > 0)
                                log_error("KEK rewrap done: %" PRIi64 " records moved; %" PRIi64
                                          " do not authenticate (a damaged or altered database; first: %s) and "
                                          "stay on their KEK, which cannot be retired until they are restored or "
                                          "deleted",
                                          st.done, st.damaged, st.first_damaged);
                        else
                                log_info("KEK rewrap done: %" PRIi64 " records moved", st.done);
                }
                return 0;
        }
        return 1;
}
