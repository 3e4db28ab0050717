/* ops-key.c — KEK rotation: key.rotate, key.rewrap, key.status,
 * key.retire (see credvault.h).
 *
 * Owns: the requests of the four ops and the checking of their replies:
 * every member read is there with its type and in its range, and
 * key.status, the one reply with nesting, is checked whole (exactly one
 * primary, distinct versions) before anything of it is handed on, as a
 * struct or as JSON text.
 * Never: carries a key or a value; the replies hold versions and counts
 * only, so their texts are plain malloc() memory. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client-internal.h"

/* ---- key.rotate, key.rewrap, key.retire: flat replies ---- */

int cv_key_rotate(CvClient *c, int64_t *ret_primary, int64_t *ret_previous) {
        int64_t primary, previous;
        Reply reply;

        if (!c)
                return -EINVAL;
        client_request(c, "key.rotate");
        int r = client_send(c, &reply);
        if (r < 0)
                return r;
        r = client_reply_int(&reply, "primary", &primary);
        if (r >= 0)
                r = client_reply_int(&reply, "previous", &previous);
        /* A new primary is a new version: later than the one it replaces. */
        if (r >= 0 && (previous < 1 || primary <= previous))
                r = client_fail_protocol(c, "member 'primary' not after 'previous'");
        client_reply_done(&reply);
        if (r < 0)
                return r;
        if (ret_primary)
                *ret_primary = primary;
        if (ret_previous)
                *ret_previous = previous;
        return 0;
}

int cv_key_rewrap(CvClient *c, bool *ret_running, int64_t *ret_remaining) {
        int64_t remaining;
        Reply reply;
        bool running;

        if (!c)
                return -EINVAL;
        client_request(c, "key.rewrap");
        int r = client_send(c, &reply);
        if (r < 0)
                return r;
        r = client_reply_bool(&reply, "running", &running);
        if (r >= 0)
                r = client_reply_int(&reply, "remaining", &remaining);
        if (r >= 0 && remaining < 0)
                r = client_fail_protocol(c, "member 'remaining' negative");
        client_reply_done(&reply);
        if (r < 0)
                return r;
        if (ret_running)
                *ret_running = running;
        if (ret_remaining)
                *ret_remaining = remaining;
        return 0;
}

int cv_key_retire(CvClient *c, int64_t version) {
        int64_t retired;
        Reply reply;

        if (!c)
                return -EINVAL;
        if (version < 1)
                return client_fail(c, -EINVAL, "bad_request", "version: a KEK version, >= 1");
        JsonOut *o = client_request(c, "key.retire");
        json_out_int(o, "version", version);
        int r = client_send(c, &reply);
        if (r < 0)
                return r;
        r = client_reply_int(&reply, "retired", &retired);
        if (r >= 0 && retired != version)
                r = client_fail_protocol(c, "member 'retired' is not the version asked for");
        client_reply_done(&reply);
        return r < 0 ? r : 0;
}

/* ---- key.status ---- */

static int kek_read(json_t *item, CvKek *ret) {
        static const char *const states[] = { "primary", "active", "retired" };
        CvKek k = {};
        const char *state;

        if (!json_is_object(item) || client_json_int(item, "version", &k.version) < 0 ||
            client_json_int(item, "records", &k.records) < 0 || client_json_int(item, "created", &k.created) < 0 ||
            !(state = json_string_value(json_object_get(item, "state"))))
                return -EPROTO;
        if (k.version < 1 || k.records < 0)
                return -EPROTO;
        for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
                if (strcmp(state, states[i]) == 0) {
                        snprintf(k.state, sizeof(k.state), "%s", states[i]);
                        *ret = k;
                        return 0;
                }
        return -EPROTO;
}

static int rewrap_read(json_t *obj, CvKeyRewrap *ret) {
        CvKeyRewrap w = {};
        json_t *running = json_object_get(obj, "running"), *rate = json_object_get(obj, "rate");
        json_t *started_at = json_object_get(obj, "started_at");

        if (!json_is_object(obj) || !json_is_boolean(running) || !json_is_number(rate) ||
            !(json_is_null(started_at) || (json_is_integer(started_at) && json_integer_value(started_at) >= 0)) ||
            client_json_int(obj, "remaining", &w.remaining) < 0 || client_json_int(obj, "done", &w.done) < 0)
                return -EPROTO;
        w.running = json_is_true(running);
        w.rate = json_number_value(rate);
        w.started_at = json_is_null(started_at) ? -1 : json_integer_value(started_at);
        if (w.remaining < 0 || w.done < 0 || !isfinite(w.rate) || w.rate < 0)
                return -EPROTO;
        *ret = w;
        return 0;
}

/* The reply of key.status checked whole: *ret_rewrap filled, and with
 * ret_keks the KEKs in a new array. Returns the number of KEKs. */
static int status_read(CvClient *c, const Reply *reply, CvKeyRewrap *ret_rewrap, CvKek **ret_keks) {
        json_t *keks = client_reply_json(reply, "keks");
        json_t *item;
        CvKeyRewrap w;
        size_t i, n_primary = 0;

        if (!json_is_array(keks))
                return client_fail_protocol(c, "member 'keks' missing or not an array");
        if (rewrap_read(client_reply_json(reply, "rewrap"), &w) < 0)
                return client_fail_protocol(c, "member 'rewrap' missing, or a member of it of another type");
        size_t n = json_array_size(keks);
        if (n > INT_MAX)
                return client_fail_protocol(c, "too many KEKs");
        CvKek *array = calloc(n ?: 1, sizeof(CvKek));
        if (!array)
                return client_fail(c, -ENOMEM, "internal", "out of memory");
        json_array_foreach(keks, i, item) {
                char what[96];
                if (kek_read(item, &array[i]) < 0) {
                        free(array);
                        snprintf(what, sizeof(what), "member 'keks[%zu]' missing a member, or one of another type", i);
                        return client_fail_protocol(c, what);
                }
                n_primary += strcmp(array[i].state, "primary") == 0;
                for (size_t j = 0; j < i; j++)
                        if (array[j].version == array[i].version) {
                                free(array);
                                return client_fail_protocol(c, "two KEKs of the same version");
                        }
        }
        if (n_primary != 1) {
                free(array);
                return client_fail_protocol(c, "not exactly one primary KEK");
        }
        *ret_rewrap = w;
        if (ret_keks)
                *ret_keks = array;
        else
                free(array);
        return (int) n;
}

int cv_key_status(CvClient *c, CvKeyRewrap *ret_rewrap, CvKek **ret_keks) {
        CvKeyRewrap w;
        Reply reply;

        if (!c || !ret_rewrap)
                return -EINVAL;
        client_request(c, "key.status");
        int r = client_send(c, &reply);
        if (r < 0)
                return r;
        r = status_read(c, &reply, &w, ret_keks);
        client_reply_done(&reply);
        if (r < 0)
                return r;
        *ret_rewrap = w;
        return r;
}

int cv_key_status_json(CvClient *c, char **ret_json) {
        CvKeyRewrap w;
        Reply reply;

        if (!c || !ret_json)
                return -EINVAL;
        client_request(c, "key.status");
        int r = client_send(c, &reply);
        if (r < 0)
                return r;
        r = status_read(c, &reply, &w, NULL);
        if (r < 0) {
                client_reply_done(&reply);
                return r;
        }
        json_object_del(reply.json, "id");
        json_object_del(reply.json, "ok");
        char *text = json_dumps(reply.json, JSON_COMPACT);
        client_reply_done(&reply);
        if (!text)
                return client_fail(c, -ENOMEM, "internal", "out of memory");
        *ret_json = text;
        return 0;
}
