/* test-errors.c — proto/errors.c: the errno ⇄ wire error code table.
 *
 * Shows: every code documented in client/credvault.h maps to its documented
 * errno and that errno maps back to the code (sign of the errno ignored);
 * the extra errnos the daemon uses internally land on the right code; an
 * errno not in the table is "internal"; a code not in the set is -EPROTO. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "errors.h"

/* The table as client/credvault.h documents it. */
static const struct {
        const char *code;
        int error;
} documented[] = {
        { "not_found", ENOENT },    { "bad_request", EINVAL }, { "unknown_op", EOPNOTSUPP },
        { "unauthorized", EACCES }, { "denied", EPERM },       { "conflict", EEXIST },
        { "too_large", EMSGSIZE },  { "rate_limited", EBUSY }, { "unavailable", ESHUTDOWN },
        { "corrupt", EUCLEAN },     { "internal", EIO },
};

static void test_documented_codes_round_trip(void **state) {
        (void) state;
        for (size_t i = 0; i < sizeof(documented) / sizeof(documented[0]); i++) {
                assert_true(error_code_is_known(documented[i].code));
                assert_int_equal(error_errno_from_code(documented[i].code), -documented[i].error);
                assert_string_equal(error_code_from_errno(-documented[i].error), documented[i].code);
                assert_string_equal(error_code_from_errno(documented[i].error), documented[i].code);
        }
}

static void test_internal_errnos_map_to_codes(void **state) {
        (void) state;
        assert_string_equal(error_code_from_errno(-EBADMSG), "bad_request");
        assert_string_equal(error_code_from_errno(-EPERM), "denied");
        assert_string_equal(error_code_from_errno(-E2BIG), "too_large");
}

static void test_unknown_errno_is_internal(void **state) {
        (void) state;
        assert_string_equal(error_code_from_errno(-ENOKEY), "internal");
        assert_string_equal(error_code_from_errno(-EKEYREJECTED), "internal");
        assert_string_equal(error_code_from_errno(-ENOMEM), "internal");
        assert_string_equal(error_code_from_errno(0), "internal");
        assert_string_equal(error_code_from_errno(-99999), "internal");
}

static void test_unknown_code_is_eproto(void **state) {
        (void) state;
        assert_int_equal(error_errno_from_code("no_such_code"), -EPROTO);
        assert_int_equal(error_errno_from_code(""), -EPROTO);
        assert_int_equal(error_errno_from_code("NOT_FOUND"), -EPROTO);
        assert_int_equal(error_errno_from_code("not_found "), -EPROTO);
        assert_int_equal(error_errno_from_code(NULL), -EPROTO);
        assert_false(error_code_is_known("no_such_code"));
        assert_false(error_code_is_known(NULL));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_documented_codes_round_trip),
                cmocka_unit_test(test_internal_errnos_map_to_codes),
                cmocka_unit_test(test_unknown_errno_is_internal),
                cmocka_unit_test(test_unknown_code_is_eproto),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
