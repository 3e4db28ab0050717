/* rootkey.c — loading and generating the root key (see rootkey.h). */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "rootkey.h"

/* Largest file we read: 64 hex digits and a CRLF; anything bigger is not a
 * key file, and reading it whole would put arbitrary bytes in locked memory. */
#define KEY_FILE_SIZE_MAX 66

int rootkey_read(const char *path, uint8_t **ret_key) {
        _cleanup_(closep) int fd = -1;
        uint8_t *buf = NULL, *key = NULL;
        struct stat st;
        size_t n = 0;
        int r;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode))
                return -EBADMSG;
        /* A key anyone can read is not a secret any more, and one others can
         * write could be swapped for a key they know. */
        if (st.st_mode & (S_IROTH | S_IWOTH | S_IWGRP))
                return -EPERM;

        buf = sodium_malloc(KEY_FILE_SIZE_MAX + 1);
        key = sodium_malloc(ROOT_KEY_SIZE);
        if (!buf || !key) {
                r = -ENOMEM;
                goto finish;
        }
        for (;;) {
                ssize_t k = read(fd, buf + n, KEY_FILE_SIZE_MAX + 1 - n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        r = negative_errno();
                        goto finish;
                }
                if (k == 0)
                        break;
                n += (size_t) k;
                if (n > KEY_FILE_SIZE_MAX) {
                        r = -EBADMSG;
                        goto finish;
                }
        }

        size_t text = n;
        while (text > 0 && (buf[text - 1] == '\n' || buf[text - 1] == '\r'))
                text--;
        size_t bin_size = 0;
        if (n == ROOT_KEY_SIZE)
                memcpy(key, buf, ROOT_KEY_SIZE);
        else if (text != 2 * ROOT_KEY_SIZE ||
                 sodium_hex2bin(key, ROOT_KEY_SIZE, (const char *) buf, text, NULL, &bin_size, NULL) != 0 ||
                 bin_size != ROOT_KEY_SIZE) {
                r = -EBADMSG;
                goto finish;
        }
        *ret_key = TAKE_PTR(key);
        r = 0;
finish:
        sodium_free(buf); /* sodium_free wipes */
        sodium_free(key);
        return r;
}

int rootkey_generate(const char *path) {
        uint8_t *key = sodium_malloc(ROOT_KEY_SIZE);
        int fd = -1, r = 0;

        if (!key)
                return -ENOMEM;
        randombytes_buf(key, ROOT_KEY_SIZE);

        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0) {
                r = negative_errno();
                goto finish;
        }
        if (write(fd, key, ROOT_KEY_SIZE) != ROOT_KEY_SIZE || fsync(fd) < 0) {
                r = errno > 0 ? -errno : -EIO;
                unlink(path);
        }
finish:
        if (fd >= 0)
                close(fd);
        sodium_free(key);
        return r;
}

void rootkey_free(uint8_t *key) {
        sodium_free(key);
}
