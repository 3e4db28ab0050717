/* ops-stage.c — rotation with overlap: secret.rotate, secret.promote,
 * secret.history, and secret.get / secret.verify with a stage (see
 * credvault.h).
 *
 * Owns: the requests of these ops and the checking of their replies:
 * every member read is there with its type, stages are names the protocol
 * knows, and a promote's versions are two (or one, with no previous).
 * Never: keeps a value outside memory that is wiped: a generated value is
 * copied into a CvSecret, history carries none. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client-internal.h"
#include "secret-buf.h"

static const char *const stage_names[] = {
        [CV_SECRET_STAGE_CURRENT] = "current",
        [CV_SECRET_STAGE_PREVIOUS] = "previous",
        [CV_SECRET_STAGE_PENDING] = "pending",
};

static int stage_from_name(const char *s, CvSecretStage *ret) {
        for (size_t i = 0; i < sizeof(stage_names) / sizeof(stage_names[0]); i++)
                if (s && strcmp(s, stage_names[i]) == 0) {
                        *ret = (CvSecretStage) i;
                        return 0;
                }
        return -EINVAL;
}

const char *cv_secret_stage_name(CvSecretStage stage) {
        return stage >= CV_SECRET_STAGE_CURRENT && stage <= CV_SECRET_STAGE_PENDING ? stage_names[stage] : NULL;
}

/* An integer member, or 0 when it is null (absent is still an error). */
static int reply_int_or_null(CvClient *c, const Reply *r, const char *key, int64_t *ret) {
        if (r->json) {
                json_t *v = json_object_get(r->json, key);
                if (json_is_null(v)) {
                        *ret = 0;
                        return 0;
                }
        } else {
                const FlatValue *v = json_flat_get(r->flat, r->n_flat, key);
                if (v && v->type == FLAT_NULL) {
                        *ret = 0;
                        return 0;
                }
        }
        int e = client_reply_int(r, key, ret);
        if (e >= 0 && *ret < 1)
                return client_fail_protocol(c, "a version or deadline < 1");
        return e;
}

int cv_secret_rotate(CvClient *c, const char *plugin, const char *name, const void *value, size_t value_size,
                     size_t bytes, int64_t grace_sec, int64_t *ret_version, CvSecret **ret_generated) {
        int64_t version = 0, created = 0;
        const char *b64 = NULL;
        size_t b64_size = 0;
        Reply reply;
        JsonOut *o;

        if (!c || (!value && value_size > 0) || (!value && !ret_generated) || (value && bytes > 0))
                return -EINVAL;
        int r = client_request_record(c, "secret.rotate", plugin, "name", name, &o);
        if (r < 0)
                return r;
        if (value) {
                r = client_out_value(c, o, "value", value, value_size);
                if (r < 0)
                        return r;
        } else if (bytes > 0)
                json_out_int(o, "bytes", (int64_t) bytes);
        if (grace_sec >= 0)
                json_out_int(o, "grace", grace_sec);
        r = client_send(c, &reply);
        if (r < 0)
                return r;
        r = client_reply_int(&reply, "version", &version);
        if (r >= 0)
                r = client_reply_int(&reply, "created", &created);
        if (r >= 0 && !value)
                r = client_reply_string(&reply, "value", false, &b64, &b64_size);
        if (r >= 0 && version < 1)
                r = client_fail_protocol(c, "member 'version' < 1");
        if (r >= 0 && !value)
                r = client_secret_new(c, b64, b64_size, version, created, created, ret_generated);
        client_reply_done(&reply);
        if (r < 0)
                return r;
        if (ret_version)
                *ret_version = version;
        return 0;
}

int cv_secret_promote(CvClient *c, const char *plugin, const char *name, int64_t grace_sec, CvSecretPromoted *ret) {
        CvSecretPromoted p = {};
        Reply reply;
        JsonOut *o;

        if (!c)
                return -EINVAL;
        int r = client_request_record(c, "secret.promote", plugin, "name", name, &o);
        if (r < 0)
                return r;
        if (grace_sec >= 0)
                json_out_int(o, "grace", grace_sec);
        r = client_send(c, &reply);
        if (r < 0)
                return r;
        r = client_reply_int(&reply, "version", &p.version);
        if (r >= 0)
                r = reply_int_or_null(c, &reply, "previous_version", &p.previous_version);
        if (r >= 0)
                r = reply_int_or_null(c, &reply, "previous_deadline", &p.previous_deadline);
        /* The previous version may be the newer one (a put while a
         * rotation was pending), never the same. */
        if (r >= 0 && (p.version < 1 || p.previous_version == p.version || !p.previous_version != !p.previous_deadline))
                r = client_fail_protocol(c, "members 'version', 'previous_version' and 'previous_deadline' disagree");
        client_reply_done(&reply);
        if (r < 0)
                return r;
        if (ret)
                *ret = p;
        return 0;
}

int cv_secret_get_stage(CvClient *c, const char *plugin, const char *name, CvSecretStage stage, CvSecret **ret) {
        int64_t version = 0, created = 0;
        const char *b64 = NULL, *got = NULL;
        size_t b64_size = 0;
        CvSecretStage got_stage;
        Reply reply;
        JsonOut *o;

        if (!c || !ret || !cv_secret_stage_name(stage))
                return -EINVAL;
        if (stage == CV_SECRET_STAGE_CURRENT)
                return cv_secret_get(c, plugin, name, ret);
        int r = client_request_record(c, "secret.get", plugin, "name", name, &o);
        if (r < 0)
                return r;
        json_out_cstring(o, "stage", stage_names[stage]);
        r = client_send(c, &reply);
        if (r < 0)
                return r;
        r = client_reply_string(&reply, "value", false, &b64, &b64_size);
        if (r >= 0)
                r = client_reply_int(&reply, "version", &version);
        if (r >= 0)
                r = client_reply_int(&reply, "created", &created);
        if (r >= 0)
                r = client_reply_string(&reply, "stage", false, &got, NULL);
        if (r >= 0 && (stage_from_name(got, &got_stage) < 0 || got_stage != stage))
                r = client_fail_protocol(c, "member 'stage' not the one asked for");
        if (r >= 0)
                r = client_secret_new(c, b64, b64_size, version, created, created, ret);
        client_reply_done(&reply);
        return r;
}

int cv_secret_verify_stage(CvClient *c, const char *plugin, const char *name, const char *authorization,
                           const void *value, size_t value_size, int64_t *ret_version, CvSecretStage *ret_stage) {
        CvSecretStage stage = CV_SECRET_STAGE_CURRENT;
        const char *got = NULL;
        int64_t version = 0;
        Reply reply;
        bool match;
        JsonOut *o;

        if (!c || !authorization == !value || (!value && value_size > 0))
                return -EINVAL;
        int r = client_request_record(c, "secret.verify", plugin, "name", name, &o);
        if (r < 0)
                return r;
        if (value) {
                r = client_out_value(c, o, "value", value, value_size);
                if (r < 0)
                        return r;
        } else
                json_out_cstring(o, "authorization", authorization);
        r = client_send(c, &reply);
        if (r < 0)
                return r;
        r = client_reply_bool(&reply, "match", &match);
        if (r >= 0 && match)
                r = client_reply_int(&reply, "version", &version);
        if (r >= 0 && match)
                r = client_reply_string(&reply, "stage", false, &got, NULL);
        /* A match is of the current version or of an in-grace previous
         * one, never of a pending one. */
        if (r >= 0 && match && (stage_from_name(got, &stage) < 0 || stage == CV_SECRET_STAGE_PENDING))
                r = client_fail_protocol(c, "member 'stage' not current or previous");
        client_reply_done(&reply);
        if (r < 0)
                return r;
        if (ret_version)
                *ret_version = version;
        if (ret_stage)
                *ret_stage = stage;
        return match ? 1 : 0;
}

int cv_secret_history_json(CvClient *c, const char *plugin, const char *name, char **ret_json) {
        Reply reply;
        JsonOut *o;

        if (!c || !ret_json)
                return -EINVAL;
        int r = client_request_record(c, "secret.history", plugin, "name", name, &o);
        if (r < 0)
                return r;
        r = client_send(c, &reply);
        if (r < 0)
                return r;
        json_t *versions = client_reply_json(&reply, "versions"), *item;
        size_t i;
        if (!json_is_array(versions))
                r = client_fail_protocol(c, "member 'versions' missing or not an array");
        json_array_foreach(versions, i, item) {
                CvSecretStage stage;
                int64_t version, created, t;
                json_t *s = json_object_get(item, "stage");
                if (r < 0)
                        break;
                if (client_json_int(item, "version", &version) < 0 || client_json_int(item, "created", &created) < 0 ||
                    version < 1 || !json_is_string(s) || stage_from_name(json_string_value(s), &stage) < 0 ||
                    (stage == CV_SECRET_STAGE_PREVIOUS && client_json_int(item, "deadline", &t) < 0) ||
                    (stage == CV_SECRET_STAGE_PENDING && client_json_int(item, "grace", &t) < 0) ||
                    json_object_get(item, "value"))
                        r = client_fail_protocol(c, "an item of 'versions' incomplete");
        }
        if (r >= 0) {
                json_object_del(reply.json, "id");
                json_object_del(reply.json, "ok");
                char *text = json_dumps(reply.json, JSON_COMPACT);
                if (!text)
                        r = client_fail(c, -ENOMEM, "internal", "out of memory");
                else
                        *ret_json = text;
        }
        client_reply_done(&reply);
        return r;
}
