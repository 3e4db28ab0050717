/* test-recovery.c — daemon/crypto/recovery.c: the recovery key's text and
 * the root key sealed to it.
 *
 * Shows: a seed's text is 14 groups of 4 Crockford symbols and parses
 * back to the seed, also typed in lower case, without dashes, with I, L
 * and O for 1, 1 and 0, and a newline; one symbol changed anywhere is
 * -EILSEQ (a typo) and a symbol outside the alphabet or a group missing
 * is -EBADMSG; two seeds give two texts; a root key sealed to the public
 * key opens with the seed, is -EKEYREJECTED for another seed (another
 * vault's key) and -EUCLEAN for altered bytes or a sealing without the
 * label. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "recovery.h"

static SecretBuf *text_of(const uint8_t *seed) {
        SecretBuf *t = NULL;
        assert_int_equal(recovery_text_format(seed, &t), 0);
        return t;
}

static void assert_parses_to(const char *text, const uint8_t *seed) {
        uint8_t *got = NULL;
        assert_int_equal(recovery_text_parse(text, strlen(text), &got), 0);
        assert_memory_equal(got, seed, RECOVERY_SEED_SIZE);
        sodium_free(got);
}

static void test_text_round_trip(void **state) {
        uint8_t *seed = NULL, *other = NULL;
        (void) state;

        for (int i = 0; i < 50; i++) {
                assert_int_equal(recovery_seed_new(&seed), 0);
                SecretBuf *t = text_of(seed);
                assert_int_equal(t->size, RECOVERY_TEXT_SIZE);
                for (size_t j = 0; j < t->size; j++)
                        assert_true(j % 5 == 4 ? t->data[j] == '-'
                                               : strchr("0123456789ABCDEFGHJKMNPQRSTVWXYZ", t->data[j]) != NULL);
                assert_parses_to((const char *) t->data, seed);
                secret_buf_free(t);
                sodium_free(seed);
        }

        /* All-zero and all-ones seeds too. */
        uint8_t fixed[RECOVERY_SEED_SIZE];
        memset(fixed, 0xff, sizeof(fixed));
        SecretBuf *t = text_of(fixed);
        assert_parses_to((const char *) t->data, fixed);
        secret_buf_free(t);

        assert_int_equal(recovery_seed_new(&seed), 0);
        assert_int_equal(recovery_seed_new(&other), 0);
        SecretBuf *a = text_of(seed), *b = text_of(other);
        assert_memory_not_equal(a->data, b->data, RECOVERY_TEXT_SIZE);
        secret_buf_free(a);
        secret_buf_free(b);
        sodium_free(seed);
        sodium_free(other);
}

static void test_text_as_typed(void **state) {
        uint8_t *seed = NULL;
        char typed[128];
        (void) state;

        assert_int_equal(recovery_seed_new(&seed), 0);
        SecretBuf *t = text_of(seed);
        /* Lower case, no dashes, a newline. */
        size_t n = 0;
        for (size_t i = 0; i < t->size; i++)
                if (t->data[i] != '-')
                        typed[n++] =
                                (char) (t->data[i] >= 'A' && t->data[i] <= 'Z' ? t->data[i] - 'A' + 'a' : t->data[i]);
        typed[n++] = '\n';
        typed[n] = '\0';
        assert_parses_to(typed, seed);
        /* Lookalikes: every 1 as I or L, every 0 as O. */
        memcpy(typed, t->data, t->size + 1);
        for (size_t i = 0; i < t->size; i++)
                if (typed[i] == '1')
                        typed[i] = i % 2 ? 'I' : 'l';
                else if (typed[i] == '0')
                        typed[i] = 'O';
        assert_parses_to(typed, seed);
        secret_buf_free(t);
        sodium_free(seed);
}

static void test_text_typo(void **state) {
        uint8_t *seed = NULL, *got = NULL;
        char typed[128];
        (void) state;

        /* A fixed seed: a random one's checksum could, once in 2^20,
         * miss one of these changes, and a test must not flake. */
        assert_int_equal(recovery_seed_new(&seed), 0);
        for (size_t i = 0; i < RECOVERY_SEED_SIZE; i++)
                seed[i] = (uint8_t) (7 * i + 3);
        SecretBuf *t = text_of(seed);
        for (size_t i = 0; i < t->size; i++) {
                if (t->data[i] == '-')
                        continue;
                memcpy(typed, t->data, t->size + 1);
                typed[i] = typed[i] == 'X' ? 'Y' : 'X';
                assert_int_equal(recovery_text_parse(typed, t->size, &got), -EILSEQ);
        }
        /* Not a recovery key's shape. */
        memcpy(typed, t->data, t->size + 1);
        typed[3] = 'U';
        assert_int_equal(recovery_text_parse(typed, t->size, &got), -EBADMSG);
        assert_int_equal(recovery_text_parse((const char *) t->data, t->size - 5, &got), -EBADMSG);
        assert_int_equal(recovery_text_parse("", 0, &got), -EBADMSG);
        snprintf(typed, sizeof(typed), "%s-AAAA", (const char *) t->data);
        assert_int_equal(recovery_text_parse(typed, strlen(typed), &got), -EBADMSG);
        secret_buf_free(t);
        sodium_free(seed);
}

static void test_seal(void **state) {
        uint8_t *seed = NULL, *other = NULL, *root = NULL, *got = NULL;
        uint8_t pk[RECOVERY_PUBLIC_SIZE], pk_other[RECOVERY_PUBLIC_SIZE], sealed[RECOVERY_SEALED_SIZE];
        (void) state;

        root = sodium_malloc(ROOT_KEY_SIZE);
        randombytes_buf(root, ROOT_KEY_SIZE);
        assert_int_equal(recovery_seed_new(&seed), 0);
        assert_int_equal(recovery_seed_new(&other), 0);
        assert_int_equal(recovery_public(seed, pk), 0);
        assert_int_equal(recovery_public(other, pk_other), 0);
        assert_memory_not_equal(pk, pk_other, sizeof(pk));
        assert_int_equal(recovery_seal(pk, root, sealed), 0);

        assert_int_equal(recovery_unseal(seed, pk, sizeof(pk), sealed, sizeof(sealed), &got), 0);
        assert_memory_equal(got, root, ROOT_KEY_SIZE);
        sodium_free(got);
        /* Another vault's recovery key. */
        assert_int_equal(recovery_unseal(other, pk, sizeof(pk), sealed, sizeof(sealed), &got), -EKEYREJECTED);
        assert_int_equal(recovery_unseal(seed, pk, sizeof(pk) - 1, sealed, sizeof(sealed), &got), -EKEYREJECTED);
        /* Altered or cut. */
        sealed[40] ^= 1;
        assert_int_equal(recovery_unseal(seed, pk, sizeof(pk), sealed, sizeof(sealed), &got), -EUCLEAN);
        sealed[40] ^= 1;
        assert_int_equal(recovery_unseal(seed, pk, sizeof(pk), sealed, sizeof(sealed) - 1, &got), -EUCLEAN);
        /* A sealing without the label is no root key. */
        uint8_t plain[RECOVERY_SEALED_SIZE - crypto_box_SEALBYTES] = {};
        memcpy(plain + sizeof(plain) - ROOT_KEY_SIZE, root, ROOT_KEY_SIZE);
        assert_int_equal(crypto_box_seal(sealed, plain, sizeof(plain), pk), 0);
        assert_int_equal(recovery_unseal(seed, pk, sizeof(pk), sealed, sizeof(sealed), &got), -EUCLEAN);

        sodium_free(root);
        sodium_free(seed);
        sodium_free(other);
}

int main(void) {
        if (sodium_init() < 0)
                return 1;
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_text_round_trip),
                cmocka_unit_test(test_text_as_typed),
                cmocka_unit_test(test_text_typo),
                cmocka_unit_test(test_seal),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
