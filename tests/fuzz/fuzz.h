/* fuzz.h — what the fuzz targets share.
 *
 * Owns: the libFuzzer entry points' declarations, the check that aborts
 * (a finding, with a message saying which promise broke), strict UTF-8
 * validation, the shape every reply must have, splitting an input into
 * frames, and temporary directories that live as long as the process.
 * Never: replaces any of our own code; the targets link the real modules. */
#pragma once

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A directory for this process's files (fuzz_tmpdir() below), under
 * /dev/shm when it can be written (SQLite's fsync costs nothing there),
 * removed at exit with the plain files in it. */
static char *fuzz_tmpdir_path;

static inline void fuzz_tmpdir_remove(void) {
        if (!fuzz_tmpdir_path)
                return;
        DIR *d = opendir(fuzz_tmpdir_path);
        if (d) {
                struct dirent *de;
                while ((de = readdir(d))) {
                        char *f = NULL;
                        if (de->d_name[0] != '.' && asprintf(&f, "%s/%s", fuzz_tmpdir_path, de->d_name) >= 0) {
                                unlink(f);
                                free(f);
                        }
                }
                closedir(d);
        }
        rmdir(fuzz_tmpdir_path);
        free(fuzz_tmpdir_path);
        fuzz_tmpdir_path = NULL;
}

/* A broken promise: say which, and abort so libFuzzer keeps the input
 * (the temporary directory goes first: abort() runs no atexit()). */
#define FUZZ_CHECK(cond, ...)                                                                                          \
        do {                                                                                                           \
                if (!(cond)) {                                                                                         \
                        fprintf(stderr, "FUZZ_CHECK failed at %s:%d: %s: ", __FILE__, __LINE__, #cond);                \
                        fprintf(stderr, __VA_ARGS__);                                                                  \
                        fputc('\n', stderr);                                                                           \
                        fuzz_tmpdir_remove();                                                                          \
                        abort();                                                                                       \
                }                                                                                                      \
        } while (0)

/* RFC 3629 UTF-8: no overlong forms, no surrogates, nothing past
 * U+10FFFF. Written apart from json-flat.c's, which it checks. */
static inline bool fuzz_utf8_valid(const char *text, size_t n) {
        const unsigned char *s = (const unsigned char *) text;
        for (size_t i = 0; i < n;) {
                unsigned c = s[i], need, v;
                if (c < 0x80) {
                        i++;
                        continue;
                }
                if (c >= 0xc2 && c <= 0xdf)
                        need = 1, v = c & 0x1f;
                else if (c >= 0xe0 && c <= 0xef)
                        need = 2, v = c & 0x0f;
                else if (c >= 0xf0 && c <= 0xf4)
                        need = 3, v = c & 0x07;
                else
                        return false;
                if (n - i <= need)
                        return false;
                for (unsigned k = 1; k <= need; k++) {
                        if ((s[i + k] & 0xc0) != 0x80)
                                return false;
                        v = v << 6 | (s[i + k] & 0x3f);
                }
                if ((need == 2 && v < 0x800) || (need == 3 && (v < 0x10000 || v > 0x10ffff)) ||
                    (v >= 0xd800 && v <= 0xdfff))
                        return false;
                i += need + 1;
        }
        return true;
}

/* What every reply of the daemon must be: valid UTF-8, one JSON object
 * without duplicate keys, "id" an integer or null, "ok" a boolean, and
 * when it is false an "error" object with a known "code" and a
 * "message". Returns "ok". */
static inline bool fuzz_check_reply(const char *text, size_t n) {
        json_error_t e;

        FUZZ_CHECK(n > 0, "empty reply");
        FUZZ_CHECK(fuzz_utf8_valid(text, n), "reply is not valid UTF-8: %.*s", (int) n, text);
        FUZZ_CHECK(!memchr(text, '\0', n), "reply holds a NUL byte");
        json_t *reply = json_loadb(text, n, JSON_REJECT_DUPLICATES, &e);
        FUZZ_CHECK(reply, "reply is not JSON (%s at %d): %.*s", e.text, e.position, (int) n, text);
        FUZZ_CHECK(json_is_object(reply), "reply is not an object: %.*s", (int) n, text);
        json_t *id = json_object_get(reply, "id"), *ok = json_object_get(reply, "ok");
        FUZZ_CHECK(json_is_integer(id) || json_is_null(id), "reply id: %.*s", (int) n, text);
        FUZZ_CHECK(json_is_boolean(ok), "reply ok: %.*s", (int) n, text);
        if (json_is_false(ok)) {
                json_t *error = json_object_get(reply, "error");
                json_t *code = json_object_get(error, "code"), *message = json_object_get(error, "message");
                FUZZ_CHECK(json_is_string(code) && json_is_string(message), "error reply: %.*s", (int) n, text);
                FUZZ_CHECK(error_code_is_known(json_string_value(code)), "unknown error code '%s'",
                           json_string_value(code));
        } else
                FUZZ_CHECK(json_is_integer(id), "a success reply without its id: %.*s", (int) n, text);
        bool success = json_is_true(ok);
        json_decref(reply);
        return success;
}

/* Inputs that carry several frame bodies separate them with this line;
 * the seeds are readable that way (docs/testing.md, tests/fuzz/README.md). */
#define FUZZ_SEPARATOR "\n#\n"
#define FUZZ_SEPARATOR_SIZE 3

/* The next body of an input split at FUZZ_SEPARATOR: *pos advances past
 * it. False when none is left. */
static inline bool fuzz_next_part(const uint8_t *data, size_t size, size_t *pos, const uint8_t **ret,
                                  size_t *ret_size) {
        if (*pos > size)
                return false;
        const uint8_t *start = data + *pos;
        size_t left = size - *pos;
        const uint8_t *sep =
                left >= FUZZ_SEPARATOR_SIZE ? memmem(start, left, FUZZ_SEPARATOR, FUZZ_SEPARATOR_SIZE) : NULL;
        size_t n = sep ? (size_t) (sep - start) : left;
        *ret = start;
        *ret_size = n;
        *pos += n + FUZZ_SEPARATOR_SIZE; /* past the end when there was no separator */
        return true;
}

static inline const char *fuzz_tmpdir(void) {
        if (fuzz_tmpdir_path)
                return fuzz_tmpdir_path;
        const char *bases[] = { "/dev/shm", getenv("TMPDIR"), "/tmp" };
        for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
                char *p = NULL;
                if (!bases[i] || !*bases[i] || access(bases[i], W_OK) < 0)
                        continue;
                if (asprintf(&p, "%s/credvault-fuzz.XXXXXX", bases[i]) < 0)
                        break;
                if (mkdtemp(p)) {
                        fuzz_tmpdir_path = p;
                        atexit(fuzz_tmpdir_remove);
                        return p;
                }
                free(p);
        }
        FUZZ_CHECK(false, "cannot create a temporary directory: %s", strerror(errno));
        return NULL;
}
