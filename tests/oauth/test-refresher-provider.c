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

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_allowed),
                cmocka_unit_test(test_refused),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
