/* ops-rootkey.c — the root key and the recovery key: key.rotate_root and
 * key.recovery (see credvault.h).
 *
 * Owns: their requests and the checking of their replies. Never: keeps a
 * key: the new root key goes out base64-encoded in the request buffer,
 * which client_send() wipes, and the recovery key comes back in a copy
 * the caller wipe-frees. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client-internal.h"

/* Longest root key file content a daemon accepts (64 hex digits and a
 * CRLF); anything longer is refused here before it is sent. */
#define ROOT_KEY_FILE_SIZE_MAX 66
/* A recovery key: 14 groups of 4 symbols joined by '-'. */
#define RECOVERY_KEY_SIZE 69

int cv_key_rotate_root(CvClient *c, const void *key, size_t key_size) {
        int64_t rotated_at;
        Reply reply;

        if (!c || (!key && key_size > 0))
                return -EINVAL;
        if (key_size > ROOT_KEY_FILE_SIZE_MAX)
                return client_fail(c, -EINVAL, "bad_request", "the new root key is not a key (over 66 bytes)");
        JsonOut *o = client_request(c, "key.rotate_root");
        if (key) {
                int r = client_out_value(c, o, "value", key, key_size);
                if (r < 0)
                        return r;
        }
        int r = client_send(c, &reply);
        if (r < 0)
                return r;
        r = client_reply_int(&reply, "rotated_at", &rotated_at);
        client_reply_done(&reply);
        return r < 0 ? r : 0;
}

static bool recovery_key_valid(const char *s, size_t n) {
        if (n != RECOVERY_KEY_SIZE)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '-'))
                        return false;
        return true;
}

int cv_key_recovery(CvClient *c, bool replace, char **ret_recovery_key) {
        const char *s = NULL;
        size_t n = 0;
        Reply reply;

        if (!c || !ret_recovery_key)
                return -EINVAL;
        JsonOut *o = client_request(c, "key.recovery");
        if (replace)
                json_out_bool(o, "replace", true);
        int r = client_send(c, &reply);
        if (r < 0)
                return r;
        r = client_reply_string(&reply, "recovery_key", false, &s, &n);
        if (r >= 0 && !recovery_key_valid(s, n))
                r = client_fail_protocol(c, "member 'recovery_key' is not a recovery key");
        char *copy = NULL;
        if (r >= 0) {
                copy = malloc(n + 1);
                if (!copy)
                        r = -ENOMEM;
                else {
                        memcpy(copy, s, n);
                        copy[n] = '\0';
                }
        }
        client_reply_done(&reply);
        if (r < 0)
                return r;
        *ret_recovery_key = copy;
        return 0;
}
