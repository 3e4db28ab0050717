/* handlers-stage.c — rotation with overlap: secret.rotate,
 * secret.promote, secret.history and secret.get of a pending or previous
 * version (one vault call each), and the sweep of expired previous
 * versions that the server's event loop runs at their deadlines.
 *
 * Never: reveals a value but in secret.get's reply and a generated
 * rotate's; history carries versions, stages and times only. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "dispatch.h"
#include "handlers.h"
#include "log.h"

_Static_assert((int) SECRET_STAGE_CURRENT == (int) RECORD_STAGE_CURRENT &&
                       (int) SECRET_STAGE_PREVIOUS == (int) RECORD_STAGE_PREVIOUS &&
                       (int) SECRET_STAGE_PENDING == (int) RECORD_STAGE_PENDING,
               "the wire's stages are the vault's");

/* Expired previous versions one sweep removes at most; more wait for the
 * next, which then comes at once. */
#define SWEEP_BATCH 32

static const char *stage_name(RecordStage stage) {
        return secret_stage_to_string((SecretStage) stage);
}

/* stage, and deadline (previous) or grace (pending). */
static void reply_stage_meta(JsonOut *reply, const StoredStage *st) {
        json_out_cstring(reply, "stage", stage_name(st->stage));
        if (st->stage == RECORD_STAGE_PREVIOUS)
                json_out_int(reply, "deadline", st->deadline);
        if (st->stage == RECORD_STAGE_PENDING)
                json_out_int(reply, "grace", st->grace);
}

static int stage_not_found(int r, Failure *f, RecordStage stage, const Request *req) {
        if (r == -ENOENT)
                failure_set(f, "no %s version of secret '%s' for plugin '%s'", stage_name(stage), req->name,
                            req->plugin);
        return r;
}

int handle_secret_get_stage(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        _cleanup_(secret_buf_freep) SecretBuf *value = NULL;
        StoredStage meta = {};
        RecordStage stage = (RecordStage) req->stage;

        int r = vault_secret_get_stage(ctx->vault, req->plugin, req->name, stage, &value, &meta);
        if (r < 0)
                return stage_not_found(r, f, stage, req);
        r = handlers_reply_value(reply, "value", value);
        if (r < 0)
                return r;
        json_out_int(reply, "version", meta.version);
        json_out_int(reply, "created", meta.created_at);
        reply_stage_meta(reply, &meta);
        return 0;
}

int handle_secret_rotate(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        _cleanup_(secret_buf_freep) SecretBuf *generated = NULL;
        StoredStage meta = {};
        (void) f;

        int r = vault_secret_rotate(ctx->vault, req->plugin, req->name, req->value ? req->value->data : NULL,
                                    req->value ? req->value->size : 0, (size_t) req->bytes, req->grace, &generated,
                                    &meta);
        if (r < 0)
                return r;
        json_out_int(reply, "version", meta.version);
        json_out_int(reply, "created", meta.created_at);
        reply_stage_meta(reply, &meta);
        /* Only a value the vault made: the caller knows one it gave. */
        if (generated) {
                r = handlers_reply_value(reply, "value", generated);
                if (r < 0)
                        return r;
        }
        return 0;
}

int handle_secret_promote(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        VaultPromoted p;

        int r = vault_secret_promote(ctx->vault, req->plugin, req->name, req->has_grace ? req->grace : -1, &p);
        if (r < 0)
                return stage_not_found(r, f, RECORD_STAGE_PENDING, req);
        json_out_int(reply, "version", p.version);
        if (p.previous_version > 0) {
                json_out_int(reply, "previous_version", p.previous_version);
                json_out_int(reply, "previous_deadline", p.previous_deadline);
        } else {
                json_out_null(reply, "previous_version");
                json_out_null(reply, "previous_deadline");
        }
        json_out_int(reply, "grace", p.grace);
        return 0;
}

int handle_secret_history(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        StoredStage versions[3];
        size_t n = 0;

        int r = vault_secret_history(ctx->vault, req->plugin, req->name, versions, &n);
        if (r < 0)
                return handlers_not_found(r, f, "secret", req);
        json_out_open_array(reply, "versions");
        for (size_t i = 0; i < n; i++) {
                json_out_open_object(reply, NULL);
                json_out_int(reply, "version", versions[i].version);
                json_out_int(reply, "created", versions[i].created_at);
                reply_stage_meta(reply, &versions[i]);
                json_out_close_object(reply);
        }
        json_out_close_array(reply);
        return 0;
}

int64_t secret_sweep_next(const Context *ctx) {
        return ctx->vault ? vault_secret_next_deadline(ctx->vault) : 0;
}

int secret_sweep_tick(Context *ctx) {
        AuditEntry tmpl = {
                .uid = (uint32_t) getuid(),
                .gid = (uint32_t) getgid(),
                .pid = (int32_t) getpid(),
                .op = AUDIT_OP_SECRET_EXPIRE,
        };
        AuditEntry *removed = NULL;
        size_t n = 0;

        if (!ctx->vault)
                return 0;
        dispatch_group_end(ctx);
        int r = vault_secret_sweep(ctx->vault, time(NULL), SWEEP_BATCH, &tmpl, &removed, &n);
        for (size_t i = 0; i < n; i++) {
                audit_record(&removed[i], true, true);
                log_info("previous version of secret '%s' of plugin '%s' expired and deleted", removed[i].object,
                         removed[i].plugin);
        }
        free(removed);
        /* Not logged here: the server backs off and says it at a rate
         * a sweep that fails every time cannot flood. */
        if (r < 0)
                return r;
        return n == SWEEP_BATCH ? 1 : 0;
}
