/* credential.c — a LoadCredential= request (see credential.h).
 *
 * Why uid 0: systemd's service manager binds its end of the socket to
 * "\0RANDOM/unit/UNIT/ID" and that address is all that says which unit
 * asks. Any process can bind any abstract address, so the unit in it is
 * the caller's claim; only the service manager's claim is worth anything,
 * and for the system manager that is uid 0 (PID 1 or its executor child,
 * which connects as root before the unit's own credentials are set). A
 * process of another uid is refused whatever it claims, even a unit that
 * it really runs in: it could ask for a unit not its own just as well.
 * Root could claim any unit, but root is admin by default and can read
 * the vault's memory anyway. */
#include <errno.h>
#include <string.h>

#include "credential-address.h"
#include "credential.h"
#include "log.h"
#include "proto-limits.h"
#include "request.h"

int credential_id_split(const char *id, char *ret_plugin, char *ret_name) {
        const char *dot = strchr(id, '.');
        if (!dot || (size_t) (dot - id) > NAME_SIZE_MAX || strlen(dot + 1) > NAME_SIZE_MAX)
                return -EBADMSG;
        char plugin[NAME_SIZE_MAX + 1];
        memcpy(plugin, id, (size_t) (dot - id));
        plugin[dot - id] = '\0';
        if (request_check_name(plugin) < 0 || request_check_name(dot + 1) < 0)
                return -EBADMSG;
        strcpy(ret_plugin, plugin);
        strcpy(ret_name, dot + 1);
        return 0;
}

/* The refusal: audited, logged, nothing for the peer. */
static int refuse(Context *ctx, const Peer *peer, const char *unit, const char *plugin, const char *object, int error,
                  const char *why) {
        (void) dispatch_audit_record(ctx, peer, unit, AUDIT_OP_CREDENTIAL_LOAD, plugin, object, error, false);
        log_notice("credential socket: refused credential '%s%s%s' for unit %s to uid %u, pid %d (%s): %s",
                   plugin ?: "", plugin ? "." : "", object ?: "?", unit ?: "?", (unsigned) peer->uid, (int) peer->pid,
                   peer->unit ?: "no unit", why);
        return error;
}

int credential_serve(Context *ctx, const Peer *peer, const struct sockaddr_un *sa, socklen_t size,
                     SecretBuf **ret_value) {
        _cleanup_(secret_buf_freep) SecretBuf *value = NULL;
        char plugin[NAME_SIZE_MAX + 1] = "", name[NAME_SIZE_MAX + 1] = "";
        CredentialAddress a;
        StoredRecord meta = {};
        int r;

        r = credential_address_parse(sa, size, &a);
        if (r < 0)
                return refuse(ctx, peer, peer->unit, NULL, NULL, -EBADMSG,
                              "not the address systemd binds for LoadCredential=");
        bool named = credential_id_split(a.id, plugin, name) >= 0;
        /* Who may claim a unit comes first: another uid learns nothing,
         * not even whether the id is well-formed. Its record names the
         * unit the process really runs in, not the claim. */
        if (peer->uid != 0)
                return refuse(ctx, peer, peer->unit, named ? plugin : NULL, named ? name : a.id, -EPERM,
                              "only the service manager (uid 0) may name a unit");
        if (!named)
                return refuse(ctx, peer, a.unit, NULL, a.id, -EBADMSG, "not PLUGIN.SECRET");
        /* A read, like any: never of a write not durable yet
         * (write-group.c). */
        dispatch_group_end(ctx);
        if (dispatch_audit_gate(ctx) < 0)
                return refuse(ctx, peer, a.unit, plugin, name, -ESHUTDOWN, "the audit trail cannot be written");
        PolicyDecision d = policy_check_unit(ctx->policy, a.unit, POLICY_CLASS_READ, plugin);
        if (!d.allowed)
                return refuse(ctx, peer, a.unit, plugin, name, -EPERM, "the policy does not allow it");
        r = vault_secret_get(ctx->vault, plugin, name, &value, &meta);
        if (r < 0)
                return refuse(ctx, peer, a.unit, plugin, name, r,
                              r == -ENOENT ? "no such plugin or secret" : strerror(-r));
        /* The record first: a value whose record cannot be kept is not
         * handed out. */
        r = dispatch_audit_record(ctx, peer, a.unit, AUDIT_OP_CREDENTIAL_LOAD, plugin, name, 0, true);
        if (r < 0)
                return refuse(ctx, peer, a.unit, plugin, name, -ESHUTDOWN, "the audit trail cannot be written");
        *ret_value = TAKE_PTR(value);
        return 0;
}
