/* request-values.c — the checks of a request's values that others use
 * too: names, user ids, a token endpoint's response, stage names (see
 * request.h).
 *
 * Owns: what a plugin or secret name, a user id and a token response may
 * hold. Error messages name the field, never its value: a token response
 * holds secrets. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "proto-limits.h"
#include "request-internal.h"
#include "request.h"

int request_check_name(const char *s) {
        size_t n = strlen(s);
        if (n == 0 || n > NAME_SIZE_MAX)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                      c == '.' || c == ':' || c == '@' || c == '-'))
                        return -EINVAL;
        }
        return 0;
}

int request_check_user_id(const char *s) {
        size_t n = strlen(s);
        if (n == 0 || n > USER_ID_SIZE_MAX)
                return -EINVAL;
        /* jansson already guarantees valid UTF-8; refuse control characters
         * (C0, DEL, and C1 = U+0080..U+009F, encoded C2 80..C2 9F) so a user
         * id can be printed and logged as it is. */
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char) s[i];
                if (c < 0x20 || c == 0x7f)
                        return -EINVAL;
                if (c == 0xc2 && i + 1 < n && (unsigned char) s[i + 1] <= 0x9f)
                        return -EINVAL;
        }
        return 0;
}

bool request_printable_ascii(const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if ((unsigned char) s[i] < 0x20 || (unsigned char) s[i] > 0x7e)
                        return false;
        return true;
}

static const char *const secret_stage_names[_SECRET_STAGE_MAX] = {
        [SECRET_STAGE_CURRENT] = "current",
        [SECRET_STAGE_PREVIOUS] = "previous",
        [SECRET_STAGE_PENDING] = "pending",
};

const char *secret_stage_to_string(SecretStage s) {
        return s >= 0 && s < _SECRET_STAGE_MAX ? secret_stage_names[s] : NULL;
}

int secret_stage_from_string(const char *s) {
        for (int i = 0; i < _SECRET_STAGE_MAX; i++)
                if (strcmp(secret_stage_names[i], s) == 0)
                        return i;
        return -EINVAL;
}

int request_bad(char *errbuf, size_t errbuf_size, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errbuf, errbuf_size, fmt, ap);
        va_end(ap);
        return -EBADMSG;
}

int request_check_token_response(json_t *token, char *errbuf, size_t errbuf_size) {
        static const struct {
                const char *field;
                size_t size_max;
                bool required;
        } strings[] = {
                { "access_token", TOKEN_SECRET_SIZE_MAX, true },
                { "token_type", TOKEN_TYPE_SIZE_MAX, true },
                { "refresh_token", TOKEN_SECRET_SIZE_MAX, false },
                { "scope", TOKEN_SCOPE_SIZE_MAX, false },
        };

        if (!json_is_object(token))
                return request_bad(errbuf, errbuf_size, "field '%s': expected an object", "token");
        for (size_t i = 0; i < ELEMENTSOF(strings); i++) {
                json_t *v = json_object_get(token, strings[i].field);
                if (!v) {
                        if (strings[i].required)
                                return request_bad(errbuf, errbuf_size, "field 'token.%s': missing", strings[i].field);
                        continue;
                }
                if (!json_is_string(v))
                        return request_bad(errbuf, errbuf_size, "field 'token.%s': expected a string",
                                           strings[i].field);
                size_t n = json_string_length(v);
                if (n > strings[i].size_max)
                        return request_bad(errbuf, errbuf_size, "field 'token.%s': too long", strings[i].field);
                if (!request_printable_ascii(json_string_value(v), n))
                        return request_bad(errbuf, errbuf_size, "field 'token.%s': must be printable ASCII",
                                           strings[i].field);
                if (n == 0 && strings[i].required)
                        return request_bad(errbuf, errbuf_size, "field 'token.%s': must not be empty",
                                           strings[i].field);
        }
        /* Bounded so expires_at = now + expires_in cannot overflow, and
         * neither is a date no token has. */
        static const struct {
                const char *field;
                json_int_t max;
        } times[] = {
                { "expires_in", TOKEN_EXPIRES_IN_MAX },
                { "expires_at", TOKEN_EXPIRES_AT_MAX },
        };
        for (size_t i = 0; i < ELEMENTSOF(times); i++) {
                json_t *v = json_object_get(token, times[i].field);
                if (v && (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > times[i].max))
                        return request_bad(errbuf, errbuf_size, "field 'token.%s': must be an integer from 0 to %lld",
                                           times[i].field, (long long) times[i].max);
        }
        if (json_object_get(token, "expires_in") && json_object_get(token, "expires_at"))
                return request_bad(errbuf, errbuf_size, "field 'token': expires_in and expires_at are alternatives");
        /* As sent; the set stored from it may grow by TOKEN_SET_GROWTH_MAX,
         * which TOKEN_SET_SIZE_MAX has room for. */
        if (json_dumpb(token, NULL, 0, JSON_COMPACT) > TOKEN_RESPONSE_SIZE_MAX) {
                snprintf(errbuf, errbuf_size, "field 'token': over %d bytes as JSON", TOKEN_RESPONSE_SIZE_MAX);
                return -EMSGSIZE;
        }
        return 0;
}
