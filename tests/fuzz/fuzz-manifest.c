/* fuzz-manifest.c — plugin manifests and their auth blocks.
 *
 * The input is JSON text: a whole ai-plugin.json or a bare auth block (the
 * seeds are auth blocks and manifests of the public plugin store corpus,
 * see README.md). What jansson reads goes through manifest_parse(), which
 * must keep manifest.h's promises: refused with a message of valid UTF-8
 * (it goes into a JSON reply); accepted with a known auth type that the
 * block names, verification tokens that pass their own checks, a domain
 * that passes manifest_check_domain(), and a public copy without the
 * tokens that jansson writes and reads back unchanged. The name and type
 * checks are run on every string the input holds. */
#include "fuzz.h"
#include "manifest.h"
#include "proto-limits.h"

static void check_strings(json_t *j, unsigned depth) {
        const char *key;
        json_t *v;
        size_t i;

        if (depth > 8)
                return;
        if (json_is_string(j)) {
                const char *s = json_string_value(j);
                int t = manifest_auth_type_from_string(s);
                FUZZ_CHECK(t == -EINVAL ||
                                   (t >= 0 && t < _AUTH_TYPE_MAX && strcmp(manifest_auth_type_to_string(t), s) == 0),
                           "auth type '%s' does not round-trip", s);
                if (manifest_check_domain(s) == 0) {
                        size_t n = strlen(s);
                        FUZZ_CHECK(n >= 1 && n <= DOMAIN_SIZE_MAX &&
                                           strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789.-") == n,
                                   "domain '%s' accepted", s);
                }
                if (manifest_check_consumer(s) == 0)
                        FUZZ_CHECK(strlen(s) >= 1 && strlen(s) <= 64, "consumer '%s' accepted", s);
        } else if (json_is_object(j))
                json_object_foreach(j, key, v)
                        check_strings(v, depth + 1);
        else if (json_is_array(j))
                json_array_foreach(j, i, v)
                        check_strings(v, depth + 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char domain[DOMAIN_SIZE_MAX + 1], error[ERROR_MESSAGE_SIZE_MAX];
        const char *name = (const char *) data; /* must be overwritten */
        ManifestAuth auth = {};
        json_error_t e;

        json_t *manifest = json_loadb((const char *) data, size, JSON_REJECT_DUPLICATES, &e);
        if (!manifest)
                return 0;
        check_strings(manifest, 0);
        memset(domain, 'x', sizeof(domain));
        error[0] = '\0';
        int r = manifest_parse(manifest, &auth, &name, domain, sizeof(domain), error, sizeof(error));
        if (r < 0) {
                FUZZ_CHECK(r == -EBADMSG, "manifest_parse: %d", r);
                FUZZ_CHECK(error[0], "refused without a message");
                FUZZ_CHECK(fuzz_utf8_valid(error, strlen(error)), "message is not valid UTF-8: %s", error);
                json_decref(manifest);
                return 0;
        }
        FUZZ_CHECK(json_is_object(manifest), "accepted a manifest that is not an object");
        FUZZ_CHECK(auth.type < _AUTH_TYPE_MAX, "auth type %d", (int) auth.type);
        FUZZ_CHECK(json_is_object(auth.auth), "no auth block");
        FUZZ_CHECK(strcmp(json_string_value(json_object_get(auth.auth, "type")),
                          manifest_auth_type_to_string(auth.type)) == 0,
                   "auth type differs from the block's");
        FUZZ_CHECK(auth.auth == manifest || auth.auth == json_object_get(manifest, "auth"), "auth block elsewhere");
        FUZZ_CHECK(name != (const char *) data, "name not set");
        FUZZ_CHECK(!name || name == json_string_value(json_object_get(manifest, "name_for_model")), "name");
        FUZZ_CHECK(memchr(domain, '\0', sizeof(domain)), "domain not terminated");
        FUZZ_CHECK(!domain[0] || manifest_check_domain(domain) == 0, "domain '%s' returned", domain);
        if (auth.verification_tokens) {
                const char *consumer;
                json_t *token;
                FUZZ_CHECK(auth.type != AUTH_NONE, "verification tokens for auth type none");
                FUZZ_CHECK(json_is_object(auth.verification_tokens), "verification_tokens not an object");
                FUZZ_CHECK(json_object_size(auth.verification_tokens) <= VERIFICATION_TOKENS_MAX, "too many tokens");
                json_object_foreach(auth.verification_tokens, consumer, token) {
                        FUZZ_CHECK(manifest_check_consumer(consumer) == 0, "consumer '%s'", consumer);
                        FUZZ_CHECK(json_is_string(token) && json_string_length(token) >= 1 &&
                                           json_string_length(token) <= VERIFICATION_TOKEN_SIZE_MAX,
                                   "verification token of '%s'", consumer);
                }
        }

        json_t *pub = manifest_auth_public(&auth);
        FUZZ_CHECK(pub, "manifest_auth_public failed");
        FUZZ_CHECK(!json_object_get(pub, "verification_tokens"), "the public block keeps the tokens");
        FUZZ_CHECK(json_object_size(pub) + (auth.verification_tokens ? 1 : 0) == json_object_size(auth.auth),
                   "the public block lost or gained fields");
        char *text = json_dumps(pub, JSON_COMPACT);
        FUZZ_CHECK(text, "the public block cannot be written");
        FUZZ_CHECK(fuzz_utf8_valid(text, strlen(text)), "the public block is not UTF-8");
        json_t *back = json_loads(text, JSON_REJECT_DUPLICATES, &e);
        FUZZ_CHECK(back && json_equal(back, pub), "the public block does not read back: %s", text);
        json_decref(back);
        free(text);
        json_decref(pub);
        json_decref(manifest);
        return 0;
}
