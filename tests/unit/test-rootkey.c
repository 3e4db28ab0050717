/* test-rootkey.c — daemon/rootkey.c: reading and generating the root key.
 *
 * Shows: a key file of exactly 32 raw bytes, or of 64 hex digits with or
 * without a trailing newline, gives those 32 bytes; 31 or 33 bytes, 63 or 65
 * hex digits, non-hex text, an empty or a big file are -EBADMSG, and so is
 * hex text of any other length, above all 32 hex digits (a 128-bit key
 * that must not pass for 32 raw bytes); a file others can read is -EPERM
 * whatever it holds (group-readable is allowed), and so is a file owned by
 * a user other than the reader or root; a directory is -EISDIR and a FIFO
 * or a device -EBADFD, at once, without waiting for a writer; a missing
 * file is -ENOENT; rootkey_generate() makes a 0600 file of 32 random bytes,
 * even under a permissive umask, that reads back, and never overwrites: a
 * second generate is -EEXIST and leaves the key as it was. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "macro.h"
#include "rootkey.h"
#include "unit-util.h"

typedef struct Dir {
        char *path;
        char *key;
} Dir;

static int setup_dir(void **state) {
        Dir *d = calloc(1, sizeof(Dir));
        if (!d)
                return -1;
        *state = d;
        d->path = tmpdir_new();
        d->key = d->path ? path_join(d->path, "credvault.key") : NULL;
        return d->key ? 0 : -1;
}

static int teardown_dir(void **state) {
        Dir *d = *state;
        free(d->key);
        tmpdir_remove(d->path);
        free(d);
        return 0;
}

static const char hex_key[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

static void bytes_counting_local(uint8_t key[static ROOT_KEY_SIZE]) {
        for (size_t i = 0; i < ROOT_KEY_SIZE; i++)
                key[i] = (uint8_t) i;
}

static void assert_reads(const char *path, const uint8_t want[static ROOT_KEY_SIZE]) {
        uint8_t *key = NULL;
        int r = rootkey_read(path, &key);
        if (r != 0)
                fail_msg("rootkey_read: %d", r);
        assert_non_null(key);
        assert_memory_equal(key, want, ROOT_KEY_SIZE);
        rootkey_free(key);
}

static void assert_read_fails(const char *path, int want) {
        uint8_t *key = NULL;
        int r = rootkey_read(path, &key);
        if (r != want)
                fail_msg("rootkey_read: want %d, got %d", want, r);
        assert_null(key);
}

static void write_key_file(const char *path, const void *data, size_t size) {
        assert_int_equal(file_write_all(path, data, size, 0600), 0);
}

static void test_raw_32_bytes(void **state) {
        Dir *d = *state;
        uint8_t raw[ROOT_KEY_SIZE];

        randombytes_buf(raw, sizeof(raw));
        write_key_file(d->key, raw, sizeof(raw));
        assert_reads(d->key, raw);

        /* Bytes that look like text, but not like hex digits, or end in a
         * newline are still raw. */
        memcpy(raw, "correct horse battery staple!!\r\n", ROOT_KEY_SIZE);
        write_key_file(d->key, raw, sizeof(raw));
        assert_reads(d->key, raw);
        memcpy(raw, "0123456789abcdef0123456789abcdeg", ROOT_KEY_SIZE);
        write_key_file(d->key, raw, sizeof(raw));
        assert_reads(d->key, raw);
}

/* Hex text is read as hex, so it must be 64 digits: 32 hex digits are a
 * 128-bit key, which must not be taken as 32 raw bytes (that was a root
 * key of half the strength its owner thought). */
static void test_hex_of_another_length(void **state) {
        Dir *d = *state;
        static const char *const texts[] = {
                "0123456789abcdef0123456789abcdef",   "0123456789ABCDEF0123456789ABCDEF",
                "0123456789abcdef0123456789abcde\n",  "0123456789abcdef0123456789abcd\r\n",
                "0123456789abcdef0123456789abcdef\n", "0123456789abcdef",
        };
        for (size_t i = 0; i < ELEMENTSOF(texts); i++) {
                write_key_file(d->key, texts[i], strlen(texts[i]));
                uint8_t *key = NULL;
                int r = rootkey_read(d->key, &key);
                if (r != -EBADMSG)
                        fail_msg("'%s': want -EBADMSG, got %d", texts[i], r);
                assert_null(key);
        }
}

static void test_hex_64(void **state) {
        Dir *d = *state;
        uint8_t want[ROOT_KEY_SIZE];
        char text[80];

        for (size_t i = 0; i < ROOT_KEY_SIZE; i++)
                want[i] = (uint8_t) i;

        snprintf(text, sizeof(text), "%s\n", hex_key);
        write_key_file(d->key, text, strlen(text));
        assert_reads(d->key, want);

        write_key_file(d->key, hex_key, strlen(hex_key));
        assert_reads(d->key, want);

        /* Upper case is the same key. */
        for (size_t i = 0; i < strlen(text); i++)
                if (text[i] >= 'a' && text[i] <= 'f')
                        text[i] = (char) (text[i] - 'a' + 'A');
        write_key_file(d->key, text, strlen(text));
        assert_reads(d->key, want);
}

static void test_bad_content(void **state) {
        Dir *d = *state;
        uint8_t raw[100];
        char text[200];

        randombytes_buf(raw, sizeof(raw));
        const size_t raw_sizes[] = { 0, 1, 31, 33, 34, 63, 64, 65, 66, 67, 100 };
        for (size_t i = 0; i < ELEMENTSOF(raw_sizes); i++) {
                /* Random bytes are never all hex digits. */
                raw[0] = 0xff;
                write_key_file(d->key, raw, raw_sizes[i]);
                assert_read_fails(d->key, -EBADMSG);
        }

        static const char *const texts[] = {
                /* 63 and 65 hex digits */
                "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1\n",
                "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f0\n",
                "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1",
                /* 64 characters, not all hex */
                "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1g\n",
                "zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
                "00 0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1\n",
                /* 32 raw bytes and a newline: neither form */
                "0123456789abcdef0123456789abcdef\n",
                /* newline first */
                "\n000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
        };
        for (size_t i = 0; i < ELEMENTSOF(texts); i++) {
                write_key_file(d->key, texts[i], strlen(texts[i]));
                uint8_t *key = NULL;
                int r = rootkey_read(d->key, &key);
                if (r != -EBADMSG)
                        fail_msg("'%s': want -EBADMSG, got %d", texts[i], r);
                assert_null(key);
        }

        /* A big file is refused without being read whole. */
        memset(text, 'a', sizeof(text));
        write_key_file(d->key, text, sizeof(text));
        assert_read_fails(d->key, -EBADMSG);

        /* Not a regular file. */
        assert_read_fails(d->path, -EISDIR);
}

/* A FIFO where the key should be: refused at once. Opening it for reading
 * used to wait for a writer, and start-up with it, forever; the alarm
 * turns such a hang into a failure. */
static void test_fifo_or_device(void **state) {
        Dir *d = *state;

        assert_int_equal(mkfifo(d->key, 0600), 0);
        alarm(10);
        assert_read_fails(d->key, -EBADFD);
        alarm(0);
        assert_read_fails("/dev/null", -EBADFD);
}

/* Run rootkey_read() in a child as uid/gid; its exit status is the result
 * (0, or the negated errno). */
static int read_as(const char *path, uid_t uid, gid_t gid) {
        int status;
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                uint8_t *key = NULL;
                if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
                        _exit(100);
                int r = rootkey_read(path, &key);
                rootkey_free(key);
                _exit(r < 0 ? -r : 0);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_not_equal(WEXITSTATUS(status), 100);
        return -WEXITSTATUS(status);
}

/* A key file owned by another user is refused: that user could replace it
 * with a key they know (or read it, whatever its mode says now). Root's
 * files are allowed: root can do all of that anyway, and systemd writes
 * credentials as root. */
static void test_owner(void **state) {
        Dir *d = *state;
        const uid_t nobody = 65534, other = 4242;

        if (geteuid() != 0)
                skip(); /* needs chown and a second user */
        assert_int_equal(chmod(d->path, 0711), 0);
        write_key_file(d->key, hex_key, strlen(hex_key));

        /* Read by root: its own file, and a file another user owns. */
        uint8_t want[ROOT_KEY_SIZE];
        for (size_t i = 0; i < ROOT_KEY_SIZE; i++)
                want[i] = (uint8_t) i;
        assert_reads(d->key, want);
        assert_int_equal(chown(d->key, nobody, nobody), 0);
        assert_read_fails(d->key, -EPERM);

        /* Read by nobody: its own file, root's (group-readable for it), and
         * not another user's. */
        assert_int_equal(read_as(d->key, nobody, nobody), 0);
        assert_int_equal(chown(d->key, 0, nobody), 0);
        assert_int_equal(chmod(d->key, 0640), 0);
        assert_int_equal(read_as(d->key, nobody, nobody), 0);
        assert_int_equal(chown(d->key, other, nobody), 0);
        assert_int_equal(read_as(d->key, nobody, nobody), -EPERM);
}

static void test_readable_by_others(void **state) {
        Dir *d = *state;
        const mode_t modes[] = { 0644, 0604, 0444, 0666, 0004 };

        for (size_t i = 0; i < ELEMENTSOF(modes); i++) {
                assert_int_equal(file_write_all(d->key, hex_key, strlen(hex_key), modes[i]), 0);
                uint8_t *key = NULL;
                int r = rootkey_read(d->key, &key);
                if (r != -EPERM)
                        fail_msg("mode %04o: want -EPERM, got %d", (unsigned) modes[i], r);
                assert_null(key);
        }

        /* Owner and group only is allowed (a credential dir may be group-owned). */
        uint8_t want[ROOT_KEY_SIZE];
        for (size_t i = 0; i < ROOT_KEY_SIZE; i++)
                want[i] = (uint8_t) i;
        assert_int_equal(file_write_all(d->key, hex_key, strlen(hex_key), 0640), 0);
        assert_reads(d->key, want);
        assert_int_equal(file_write_all(d->key, hex_key, strlen(hex_key), 0400), 0);
        assert_reads(d->key, want);
}

/* A key file others can write could be replaced by a key they know. */
static void test_writable_by_others(void **state) {
        Dir *d = *state;
        assert_int_equal(file_write_all(d->key, hex_key, strlen(hex_key), 0602), 0);
        assert_read_fails(d->key, -EPERM);
}

static void test_missing(void **state) {
        Dir *d = *state;
        assert_read_fails(d->key, -ENOENT);
        char *deeper = path_join(d->path, "no/such/key");
        assert_read_fails(deeper, -ENOENT);
        free(deeper);
}

static void test_generate(void **state) {
        Dir *d = *state;
        struct stat st;
        uint8_t *file = NULL, *key = NULL;
        size_t size = 0;

        /* Even a umask that would allow everything gives 0600. */
        mode_t old = umask(0);
        int r = rootkey_generate(d->key);
        umask(old);
        assert_int_equal(r, 0);

        assert_int_equal(stat(d->key, &st), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_int_equal(st.st_size, ROOT_KEY_SIZE);

        assert_int_equal(file_read_all(d->key, &file, &size), 0);
        assert_int_equal(size, ROOT_KEY_SIZE);
        assert_int_equal(rootkey_read(d->key, &key), 0);
        assert_memory_equal(key, file, ROOT_KEY_SIZE);
        rootkey_free(key);

        /* Never overwrites. */
        assert_int_equal(rootkey_generate(d->key), -EEXIST);
        uint8_t *again = NULL;
        assert_int_equal(file_read_all(d->key, &again, &size), 0);
        assert_int_equal(size, ROOT_KEY_SIZE);
        assert_memory_equal(again, file, ROOT_KEY_SIZE);
        free(again);

        /* A second key elsewhere is another key. */
        char *other = path_join(d->path, "other.key");
        assert_int_equal(rootkey_generate(other), 0);
        assert_int_equal(file_read_all(other, &again, &size), 0);
        assert_memory_not_equal(again, file, ROOT_KEY_SIZE);
        free(again);
        free(other);
        free(file);
}

static void test_generate_does_not_follow_symlink(void **state) {
        Dir *d = *state;
        char *target = path_join(d->path, "target");
        struct stat st;

        /* A dangling symlink where the key should go: refused, and nothing
         * created at its target. */
        assert_int_equal(symlink(target, d->key), 0);
        assert_true(rootkey_generate(d->key) < 0);
        assert_int_equal(lstat(target, &st), -1);
        assert_int_equal(errno, ENOENT);
        unlink(d->key);
        free(target);
}

/* rootkey_parse(): the same rules as a file, for a key sent as bytes. */
static void test_parse(void **state) {
        uint8_t raw[ROOT_KEY_SIZE], *key = NULL;
        char text[70];
        (void) state;

        bytes_counting_local(raw);
        assert_int_equal(rootkey_parse(raw, sizeof(raw), &key), 0);
        assert_memory_equal(key, raw, ROOT_KEY_SIZE);
        rootkey_free(key);
        snprintf(text, sizeof(text), "%s\n", hex_key);
        assert_int_equal(rootkey_parse((const uint8_t *) text, strlen(text), &key), 0);
        assert_memory_equal(key, raw, ROOT_KEY_SIZE);
        rootkey_free(key);
        snprintf(text, sizeof(text), "%s\r\n", hex_key);
        assert_int_equal(rootkey_parse((const uint8_t *) text, strlen(text), &key), 0);
        rootkey_free(key);
        assert_int_equal(rootkey_parse((const uint8_t *) hex_key, 32, &key), -EBADMSG);
        assert_int_equal(rootkey_parse(raw, 31, &key), -EBADMSG);
        assert_int_equal(rootkey_parse(raw, 0, &key), -EBADMSG);
        uint8_t big[100] = {};
        assert_int_equal(rootkey_parse(big, sizeof(big), &key), -EBADMSG);
}

/* rootkey_install(): the new file takes the old one's name. */
static void test_install(void **state) {
        Dir *d = *state;
        uint8_t *a = NULL, *b = NULL;
        char *new_path = path_join(d->path, "credvault.key.new");

        assert_int_equal(rootkey_generate(d->key), 0);
        assert_int_equal(rootkey_generate(new_path), 0);
        assert_int_equal(rootkey_read(new_path, &a), 0);
        assert_int_equal(rootkey_install(new_path, d->key), 0);
        assert_int_equal(access(new_path, F_OK), -1);
        assert_int_equal(rootkey_read(d->key, &b), 0);
        assert_memory_equal(a, b, ROOT_KEY_SIZE);
        assert_int_equal(rootkey_install(new_path, d->key), -ENOENT);
        rootkey_free(a);
        rootkey_free(b);
        free(new_path);
}

int main(void) {
        if (sodium_init() < 0)
                return 1;

        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_raw_32_bytes, setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_hex_64, setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_bad_content, setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_hex_of_another_length, setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_fifo_or_device, setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_owner, setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_readable_by_others, setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_writable_by_others, setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_missing, setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_generate, setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_generate_does_not_follow_symlink, setup_dir, teardown_dir),
                cmocka_unit_test(test_parse),
                cmocka_unit_test_setup_teardown(test_install, setup_dir, teardown_dir),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
