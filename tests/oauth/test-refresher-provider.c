/* test-refresher-provider.c — which token endpoints credvault-refresher
 * calls (refresher/provider.c, provider_url_check()): https anywhere,
 * plain http only to a loopback address, never credentials in the URL. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "provider.h"

static void test_allowed(void **state) {
        (void) state;
        const char *ok[] = {
                "https://oauth2.googleapis.com/token",
                "https://192.0.2.1:8443/token",
                "http://127.0.0.1:8080/token",
                "http://127.1.2.3/token",
                "http://localhost/token",
                "http://LOCALHOST:9/token",
                "http://[::1]:8080/token",
        };
        for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
                char why[160] = "";
                if (provider_url_check(ok[i], why, sizeof(why)) != 0)
                        fail_msg("%s refused: %s", ok[i], why);
        }
}

static void test_refused(void **state) {
        (void) state;
        const char *bad[] = {
                "http://192.0.2.1/token",            /* plain http off the host */
                "http://example.com/token",          /* a name other than localhost */
                "http://128.0.0.1/token",            /* not 127/8 */
                "http://[::2]/token",                /* not ::1 */
                "http://localhost.example.com/x",    /* not localhost */
                "ftp://127.0.0.1/token",             /* another scheme */
                "https://user:pw@idp.example/token", /* credentials in the URL */
                "not a url",
                "",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                char why[160] = "";
                if (provider_url_check(bad[i], why, sizeof(why)) != -EPERM)
                        fail_msg("%s accepted", bad[i]);
                assert_true(why[0] != '\0');
        }
}

/* A revocation endpoint only on the token endpoint's origin: scheme, host
 * and port, the default port made explicit. */
static void test_same_origin(void **state) {
        (void) state;
        char why[160];
        static const char *const same[][2] = {
                { "https://cal.example.com/oauth/revoke", "https://cal.example.com/oauth/token" },
                { "https://cal.example.com:443/revoke", "https://CAL.example.com/token" },
                { "http://127.0.0.1:8080/revoke", "http://127.0.0.1:8080/token?x=1" },
        };
        static const char *const other[][2] = {
                { "https://evil.example.com/revoke", "https://cal.example.com/token" },
                { "https://cal.example.com:8443/revoke", "https://cal.example.com/token" },
                { "http://cal.example.com/revoke", "https://cal.example.com/token" },
                { "http://127.0.0.1:18099/steal", "http://127.0.0.1:8080/token" },
                { "not a url", "https://cal.example.com/token" },
        };
        for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++)
                if (provider_same_origin(same[i][0], same[i][1], why, sizeof(why)) != 0)
                        fail_msg("%s refused next to %s: %s", same[i][0], same[i][1], why);
        for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++)
                if (provider_same_origin(other[i][0], other[i][1], why, sizeof(why)) != -EPERM)
                        fail_msg("%s allowed next to %s", other[i][0], other[i][1]);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_allowed),
                cmocka_unit_test(test_refused),
                cmocka_unit_test(test_same_origin),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
