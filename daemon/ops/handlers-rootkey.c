/* handlers-rootkey.c — key.rotate_root and key.recovery (one vault call
 * each).
 *
 * Owns: which root key a rotation goes to (the key the request carries,
 * or a fresh development key when the daemon runs on one) and the words
 * of their refusals. Never: logs a key or a recovery key; the recovery
 * key is in the reply only, which the audit record does not copy. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "dispatch.h"
#include "handlers.h"
#include "log.h"

int handle_key_rotate_root(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        int64_t rotated_at = 0;
        int install_error = 0;
        int r;

        if (req->value)
                r = vault_root_rotate(ctx->vault, req->value->data, req->value->size, &rotated_at);
        else if (ctx->dev_key_path)
                r = vault_root_rotate_dev(ctx->vault, ctx->dev_key_path, &rotated_at, &install_error);
        else {
                failure_set(f, "key.rotate_root needs the new root key (member 'value'); only a daemon on the "
                               "development key makes one itself");
                return -EINVAL;
        }
        if (r < 0 && install_error < 0) {
                /* The key in force is in the .new file only: nothing was
                 * rotated, and the file stays. */
                log_error("root key rotation refused: the development key in force is still in %s.new (an "
                          "earlier rotation could not rename it), and renaming it over %s fails: %s; nothing was "
                          "rotated: keep that file",
                          ctx->dev_key_path, ctx->dev_key_path, strerror(-install_error));
                failure_set(f,
                            "the development key in force is still in %s.new and cannot be renamed over %s: %s; "
                            "nothing was rotated",
                            ctx->dev_key_path, ctx->dev_key_path, strerror(-install_error));
                return -EIO;
        }
        if (r == -EBADMSG)
                failure_set(f, "the new root key is not a key: it must be exactly 32 raw bytes, or 64 hex digits "
                               "optionally followed by a newline");
        else if (r == -EEXIST)
                failure_set(f, "the new root key is the root key in force: make a fresh one (credvault key "
                               "new-root-key FILE)");
        else if (r == -EUCLEAN)
                failure_set(f, "the vault's recovery key or root key rotation rows fail their MAC (altered): nothing "
                               "was sealed to them and nothing changed; restore the database from a backup");
        if (r < 0) {
                if (r != -EBADMSG && r != -EEXIST)
                        log_error("root key rotation failed: %s; the old root key stays in force", strerror(-r));
                return r;
        }
        if (req->value)
                log_info("root key rotated: the keyring is wrapped under the new root key; supply it at the next "
                         "start (the old key no longer opens the vault)");
        else if (install_error < 0)
                /* Committed all the same: the old key opens nothing now. */
                log_warning("root key rotated, but the new development key cannot be renamed over %s: %s; it is "
                            "in %s.new, which the next rotation or start installs: keep that file",
                            ctx->dev_key_path, strerror(-install_error), ctx->dev_key_path);
        else
                log_info("root key rotated: a new development key is in %s", ctx->dev_key_path);
        json_out_int(reply, "rotated_at", rotated_at);
        return 0;
}

int handle_key_recovery(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        _cleanup_(secret_buf_freep) SecretBuf *text = NULL;
        int r = vault_recovery_create(ctx->vault, req->replace, &text);
        if (r == -EEXIST)
                failure_set(f, "the vault has a recovery key already; replacing it (replace: true) makes the old one "
                               "useless");
        else if (r == -EUCLEAN)
                failure_set(f, "the vault's recovery key or root key rotation rows fail their MAC (altered): nothing "
                               "changed; restore the database from a backup");
        if (r < 0)
                return r;
        log_info("recovery key %s; it was handed to the caller and is not kept", req->replace ? "replaced" : "made");
        json_out_string_plain(reply, "recovery_key", (const char *) text->data, text->size);
        return 0;
}
