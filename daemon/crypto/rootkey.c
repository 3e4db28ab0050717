/* rootkey.c — loading and generating the root key (see rootkey.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sodium.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "rootkey.h"

/* Largest file we read: 64 hex digits and a CRLF; anything bigger is not a
 * key file, and reading it whole would put arbitrary bytes in locked memory. */
#define KEY_FILE_SIZE_MAX 66

static bool all_hex(const uint8_t *p, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f') || (p[i] >= 'A' && p[i] <= 'F')))
                        return false;
        return n > 0;
}

static int key_file_read(const char *path, int open_flags, uint8_t **ret_key) {
        _cleanup_(closep) int fd = -1;
        uint8_t *buf = NULL;
        struct stat st;
        size_t n = 0;
        int r;

        /* O_NONBLOCK: a FIFO opens at once instead of waiting for a writer
         * (start-up hung there), and is refused below before any read. It
         * changes nothing for a regular file. */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | open_flags);
        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        /* Whoever owns the file can replace it with a key they know, or read
         * it whatever its mode is now: only we, or root, who can do all of
         * that anyway (and writes systemd's credentials). */
        if (st.st_uid != geteuid() && st.st_uid != 0)
                return -EPERM;
        /* A key anyone can read is not a secret any more, and one others can
         * write could be swapped for a key they know. */
        if (st.st_mode & (S_IROTH | S_IWOTH | S_IWGRP))
                return -EPERM;

        buf = sodium_malloc(KEY_FILE_SIZE_MAX + 1);
        if (!buf)
                return -ENOMEM;
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
        r = rootkey_parse(buf, n, ret_key);
finish:
        sodium_free(buf); /* sodium_free wipes */
        return r;
}

int rootkey_parse(const uint8_t *buf, size_t n, uint8_t **ret_key) {
        size_t bin_size = 0;

        if (n > KEY_FILE_SIZE_MAX)
                return -EBADMSG;
        uint8_t *key = sodium_malloc(ROOT_KEY_SIZE);
        if (!key)
                return -ENOMEM;
        /* Hex text is read as hex, whatever its length: 32 hex digits are
         * a 128-bit key someone wrote as text, and taking them as 32 raw
         * bytes would hide that (see rootkey.h). */
        size_t text = n;
        while (text > 0 && (buf[text - 1] == '\n' || buf[text - 1] == '\r'))
                text--;
        if (all_hex(buf, text)) {
                if (text != 2 * ROOT_KEY_SIZE ||
                    sodium_hex2bin(key, ROOT_KEY_SIZE, (const char *) buf, text, NULL, &bin_size, NULL) != 0 ||
                    bin_size != ROOT_KEY_SIZE) {
                        sodium_free(key);
                        return -EBADMSG;
                }
        } else if (n == ROOT_KEY_SIZE)
                memcpy(key, buf, ROOT_KEY_SIZE);
        else {
                sodium_free(key);
                return -EBADMSG;
        }
        *ret_key = key;
        return 0;
}

int rootkey_read(const char *path, uint8_t **ret_key) {
        return key_file_read(path, 0, ret_key);
}

int rootkey_read_nofollow(const char *path, uint8_t **ret_key) {
        return key_file_read(path, O_NOFOLLOW, ret_key);
}

/* fsync the directory that holds path: a new name in it (a file made,
 * a rename) is durable only then. */
static int dir_sync(const char *path) {
        char dir[PATH_MAX];

        snprintf(dir, sizeof(dir), "%s", path);
        char *slash = strrchr(dir, '/');
        if (slash == dir)
                slash[1] = '\0';
        else if (slash)
                *slash = '\0';
        else
                snprintf(dir, sizeof(dir), ".");
        _cleanup_(closep) int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || fsync(fd) < 0)
                return negative_errno();
        return 0;
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
        /* A short write is a full disk; the next write says so. */
        for (size_t done = 0; r >= 0 && done < ROOT_KEY_SIZE;) {
                ssize_t k = write(fd, key + done, ROOT_KEY_SIZE - done);
                if (k > 0)
                        done += (size_t) k;
                else if (k == 0)
                        r = -ENOSPC;
                else if (errno != EINTR)
                        r = negative_errno();
        }
        if (r >= 0 && fsync(fd) < 0)
                r = negative_errno();
        /* The file's name too: a rotation commits once the file exists,
         * and a crash must not leave the key in force nowhere. */
        if (r >= 0)
                r = dir_sync(path);
        if (r < 0)
                unlink(path);
finish:
        if (fd >= 0)
                close(fd);
        sodium_free(key);
        return r;
}

int rootkey_install(const char *new_path, const char *path) {
        if (rename(new_path, path) < 0)
                return negative_errno();
        /* The rename is durable only once its directory is. */
        return dir_sync(path);
}

void rootkey_free(uint8_t *key) {
        sodium_free(key);
}
