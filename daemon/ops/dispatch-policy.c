/* dispatch-policy.c — the policy in force, its reload, and the principal
 * a peer counts as (see dispatch.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dispatch-internal.h"
#include "log.h"
#include "rates.h"

uint64_t dispatch_principal(const Context *ctx, const Peer *peer) {
        int i = policy_principal_find(ctx->policy, peer);
        return i >= 0 ? rates_key_entry(i) : rates_key_uid(peer->uid);
}

int dispatch_policy_set(Context *ctx, Policy *p) {
        DispatchRates *rates;
        int r = rates_new(policy_principal_count(p), &rates);
        if (r < 0)
                return r;
        policy_free(ctx->policy);
        rates_free(ctx->rates);
        ctx->policy = p;
        ctx->rates = rates;
        ctx->policy_loaded_at = time(NULL);
        return 0;
}

int dispatch_policy_init(Context *ctx, const char *policy_path) {
        _cleanup_(policy_freep) Policy *p = NULL;
        char err[POLICY_ERROR_SIZE] = "";
        int r;

        ctx->policy_path = policy_path;
        if (policy_path)
                r = policy_load(policy_path, &p, err, sizeof(err));
        else
                r = policy_new_default(&p);
        if (r < 0) {
                log_error("policy %s: %s", policy_path ?: "(default)", err[0] ? err : strerror(-r));
                return r;
        }
        size_t n = policy_principal_count(p);
        r = dispatch_policy_set(ctx, p);
        if (r < 0)
                return r;
        TAKE_PTR(p);
        if (policy_path)
                log_info("policy %s: %zu principal%s", policy_path, n, n == 1 ? "" : "s");
        else
                log_notice("no policy file: only admins (root and the daemon's uid) are served");
        return 0;
}

int dispatch_policy_reload(Context *ctx) {
        _cleanup_(policy_freep) Policy *p = NULL;
        char err[POLICY_ERROR_SIZE] = "";
        const char *path = ctx->policy_path;
        int r;

        /* The group's writes were admitted under the policy in force. */
        dispatch_group_end(ctx);

        if (!path) {
                /* Started without one: a file put in the default place
                 * since is taken up, as a restart would. */
                if (access(POLICY_PATH_DEFAULT, F_OK) < 0) {
                        log_notice("reload: no policy file (%s); only admins are served", POLICY_PATH_DEFAULT);
                        return 0;
                }
                path = POLICY_PATH_DEFAULT;
        }
        r = policy_load(path, &p, err, sizeof(err));
        if (r >= 0) {
                size_t n = policy_principal_count(p);
                r = dispatch_policy_set(ctx, p);
                if (r >= 0) {
                        TAKE_PTR(p);
                        ctx->policy_path = path;
                        ctx->policy_error[0] = '\0';
                        log_info("policy %s reloaded: %zu principal%s", path, n, n == 1 ? "" : "s");
                        return 0;
                }
        }
        if (!err[0])
                snprintf(err, sizeof(err), "%s", strerror(-r));
        snprintf(ctx->policy_error, sizeof(ctx->policy_error), "%s", err);
        log_error("policy %s not reloaded, the previous one stays in force: %s", path, err);
        return r;
}
