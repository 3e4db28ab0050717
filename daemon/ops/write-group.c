/* write-group.c — group commit of writes (see dispatch.h, DispatchGroup).
 *
 * A write's cost is its fsync: one commit a request gave 6.7k puts a
 * second whatever the number of writers, where SQLite commits 72k rows a
 * second at 32 rows a commit (issue 9). So writes that come together
 * share a transaction: the first write a turn handles opens a group, the
 * writes of the next turns join it, each in a savepoint of its own (a
 * write that fails is undone alone, and answered with its own error
 * unless the group then fails: every answer is the group's error then),
 * and the server commits it once no request waits any more
 * (server.c, on_group()), or DISPATCH_GROUP_WAIT_USEC after it opened
 * whatever still waits (on_group_timer(): a client that keeps the loop
 * busy, even with requests that are refused, cannot hold the others'
 * writes), or when the next write finds it full. No reply of
 * the group leaves before the commit is durable: each is held by its
 * connection, which handles nothing else meanwhile.
 *
 * Only record writes join (secret, token and API key puts and deletes,
 * generate, the refresh lease): their effect is all in the database, so a
 * group that fails leaves nothing behind in memory but the audit chain's
 * head and the stage summary a delete updates, which the vault puts back
 * and counts again (vault_group_commit()). Anything else, a read included, ends
 * the group before it runs: a read must never see a write that is not
 * durable yet, which it would inside the group's transaction. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "dispatch-internal.h"
#include "log.h"
#include "time-util.h"

bool dispatch_group_joins(const Context *ctx, Op op, const void *tag) {
        if (!tag || !ctx->group.release)
                return false;
        switch (op) {
        case OP_SECRET_PUT:
        case OP_SECRET_GENERATE:
        case OP_SECRET_DELETE:
        case OP_TOKEN_PUT:
        case OP_TOKEN_DELETE:
        case OP_TOKEN_REFRESH_BEGIN:
        case OP_TOKEN_REFRESH_COMMIT:
        case OP_TOKEN_REFRESH_FAIL:
        case OP_APIKEY_PUT:
        case OP_APIKEY_DELETE:
                return true;
        default:
                return false;
        }
}

bool dispatch_group_open(const Context *ctx) {
        return ctx->vault && vault_in_group(ctx->vault);
}

int dispatch_group_enter(Context *ctx) {
        DispatchGroup *g = &ctx->group;

        if (g->n == DISPATCH_GROUP_MAX)
                dispatch_group_end(ctx);
        if (vault_in_group(ctx->vault))
                return 0;
        if (!g->held) {
                g->held = calloc(DISPATCH_GROUP_MAX, sizeof(DispatchHeld));
                if (!g->held)
                        return -ENOMEM;
        }
        int r = vault_group_begin(ctx->vault);
        if (r >= 0)
                g->opened_usec = time_monotonic_usec();
        return r;
}

void dispatch_group_hold(Context *ctx, void *tag, bool has_id, uint64_t id, int result, bool reserved,
                         const AuditEntry *e) {
        ctx->group.held[ctx->group.n++] = (DispatchHeld) {
                .tag = tag,
                .has_id = has_id,
                .id = id,
                .result = result,
                .reserved = reserved,
                .entry = *e,
        };
}

/* The group failed: a write that succeeded in it is undone, and its
 * record says why instead (its staged record went with the group). Every
 * answer (unless its connection is gone: tag NULL) is the group's error,
 * a failed write's too: its own error may describe a state that only the
 * group's earlier writes made. */
static void held_failed(Context *ctx, DispatchHeld *h, void *tag, int error) {
        Failure f = { .retry_after_ms = -1, .expires_at = -1 };
        char buf[ERROR_MESSAGE_SIZE_MAX + 256];
        JsonOut out;

        if (h->result >= 0) {
                dispatch_entry_result(&h->entry, error, false);
                (void) vault_audit_add(ctx->vault, &h->entry);
        }
        if (!tag)
                return;
        json_out_init(&out, buf, sizeof(buf));
        dispatch_error_reply(&out, h->has_id, h->id, error, &f);
        ctx->group.release(ctx->group.userdata, tag, &out);
}

void dispatch_group_end(Context *ctx) {
        DispatchGroup *g = &ctx->group;

        if (!dispatch_group_open(ctx))
                return;
        int r = vault_group_commit(ctx->vault);
        size_t n = g->n;
        if (r < 0) {
                g->failed++;
                log_error("a group of %zu write%s could not be committed, none was made: %s", n, n == 1 ? "" : "s",
                          strerror(-r));
        } else {
                g->commits++;
                g->writes += n;
        }
        /* A release may close its connection, and the owner then forgets
         * its tag (dispatch_group_forget()): each tag is taken off the
         * list before it is released, and n was read once. */
        for (size_t i = 0; i < n; i++) {
                DispatchHeld *h = &g->held[i];
                void *tag = h->tag;
                h->tag = NULL;
                if (r < 0)
                        held_failed(ctx, h, tag, r);
                else if (tag)
                        g->release(g->userdata, tag, NULL);
                audit_record(&h->entry, true, h->reserved && r >= 0);
        }
        g->n = 0;
}

void dispatch_group_forget(Context *ctx, void *tag) {
        DispatchGroup *g = &ctx->group;
        for (size_t i = 0; i < g->n; i++)
                if (g->held[i].tag == tag)
                        g->held[i].tag = NULL;
}
