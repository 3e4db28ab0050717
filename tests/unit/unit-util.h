/* unit-util.h — small helpers shared by the unit tests.
 *
 * Owns: temporary directories (created under $TMPDIR or /tmp, removed with
 * everything in them), reading a whole file, hex conversion. Never: mocks
 * or replaces any of our own code; tests link the real modules. */
#pragma once

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A fresh directory: returns a malloc'd path, or NULL. */
static inline char *tmpdir_new(void) {
        const char *base = getenv("TMPDIR");
        char *path = NULL;

        if (!base || !*base)
                base = "/tmp";
        if (asprintf(&path, "%s/credvault-unit.XXXXXX", base) < 0)
                return NULL;
        if (!mkdtemp(path)) {
                free(path);
                return NULL;
        }
        return path;
}

/* Remove a directory made by tmpdir_new() with the files in it (the tests
 * only ever create plain files there) and free the path. */
static inline void tmpdir_remove(char *path) {
        if (!path)
                return;
        DIR *d = opendir(path);
        if (d) {
                struct dirent *de;
                while ((de = readdir(d))) {
                        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                                continue;
                        char *f = NULL;
                        if (asprintf(&f, "%s/%s", path, de->d_name) >= 0) {
                                unlink(f);
                                free(f);
                        }
                }
                closedir(d);
        }
        rmdir(path);
        free(path);
}

/* "dir/name", malloc'd. */
static inline char *path_join(const char *dir, const char *name) {
        char *p = NULL;
        return asprintf(&p, "%s/%s", dir, name) < 0 ? NULL : p;
}

/* The whole content of a file, malloc'd (NUL-terminated, the NUL not
 * counted). -errno if it cannot be read. */
static inline int file_read_all(const char *path, uint8_t **ret, size_t *ret_size) {
        FILE *f = fopen(path, "rbe");
        uint8_t *buf = NULL;
        size_t n = 0, alloc = 0;

        if (!f)
                return -errno;
        for (;;) {
                if (alloc - n < 4096) {
                        uint8_t *nb = realloc(buf, alloc + 65536 + 1);
                        if (!nb) {
                                free(buf);
                                fclose(f);
                                return -ENOMEM;
                        }
                        buf = nb;
                        alloc += 65536;
                }
                size_t k = fread(buf + n, 1, alloc - n, f);
                n += k;
                if (k == 0)
                        break;
        }
        bool err = ferror(f);
        fclose(f);
        if (err) {
                free(buf);
                return -EIO;
        }
        buf[n] = 0;
        *ret = buf;
        *ret_size = n;
        return 0;
}

/* Replace path with a new file of data and the given mode (the umask does
 * not apply). */
static inline int file_write_all(const char *path, const void *data, size_t size, mode_t mode) {
        if (unlink(path) < 0 && errno != ENOENT)
                return -errno;
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        if (write(fd, data, size) != (ssize_t) size || fchmod(fd, mode) < 0) {
                int r = errno > 0 ? -errno : -EIO;
                close(fd);
                return r;
        }
        return close(fd) < 0 ? -errno : 0;
}

/* Lower-case hex of data into a malloc'd string. */
static inline char *hex_of(const uint8_t *data, size_t size) {
        char *s = malloc(2 * size + 1);
        if (!s)
                return NULL;
        for (size_t i = 0; i < size; i++)
                snprintf(s + 2 * i, 3, "%02x", data[i]);
        s[2 * size] = 0;
        return s;
}
