/* standalone.c — a fuzz target's main() where libFuzzer is not there.
 *
 * Runs the target once on each file named, and on each file of each
 * directory named (the seed corpus), as libFuzzer does when given files:
 * so the corpus stays a regression test in every build (gcc included).
 * Arguments that start with '-' (libFuzzer's options) are ignored. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* Targets without set-up leave it out. */
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

static int run_file(const char *path) {
        FILE *f = fopen(path, "rbe");
        uint8_t *data = NULL;
        size_t size = 0, alloc = 0;

        if (!f) {
                fprintf(stderr, "%s: %s\n", path, strerror(errno));
                return -1;
        }
        for (;;) {
                if (size == alloc) {
                        uint8_t *p = realloc(data, alloc = alloc * 2 + 4096);
                        if (!p) {
                                fclose(f);
                                free(data);
                                return -1;
                        }
                        data = p;
                }
                size_t k = fread(data + size, 1, alloc - size, f);
                if (k == 0)
                        break;
                size += k;
        }
        fclose(f);
        /* An allocation of exactly the input's size, so a read past its
         * end is one past the block, as under libFuzzer. */
        uint8_t *exact = malloc(size ? size : 1);
        if (!exact) {
                free(data);
                return -1;
        }
        memcpy(exact, data, size);
        free(data);
        LLVMFuzzerTestOneInput(exact, size);
        free(exact);
        return 0;
}

static int compare_names(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The directory's regular files, in name order. */
static int run_dir(const char *path, unsigned *n_run) {
        DIR *d = opendir(path);
        char **names = NULL;
        size_t n = 0;
        struct dirent *de;
        int r = 0;

        if (!d) {
                fprintf(stderr, "%s: %s\n", path, strerror(errno));
                return -1;
        }
        while ((de = readdir(d))) {
                char *p = NULL;
                struct stat st;
                if (de->d_name[0] == '.' || asprintf(&p, "%s/%s", path, de->d_name) < 0)
                        continue;
                char **grown =
                        stat(p, &st) == 0 && S_ISREG(st.st_mode) ? realloc(names, (n + 1) * sizeof(char *)) : NULL;
                if (!grown) {
                        free(p);
                        continue;
                }
                names = grown;
                names[n++] = p;
        }
        closedir(d);
        if (n > 0)
                qsort(names, n, sizeof(char *), compare_names);
        for (size_t i = 0; i < n; i++) {
                if (run_file(names[i]) < 0)
                        r = -1;
                else
                        (*n_run)++;
                free(names[i]);
        }
        free(names);
        return r;
}

int main(int argc, char **argv) {
        unsigned n_run = 0;
        int r = 0;

        if (LLVMFuzzerInitialize)
                LLVMFuzzerInitialize(&argc, &argv);
        for (int i = 1; i < argc; i++) {
                struct stat st;
                if (argv[i][0] == '-')
                        continue;
                if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
                        if (run_dir(argv[i], &n_run) < 0)
                                r = 1;
                } else if (run_file(argv[i]) < 0)
                        r = 1;
                else
                        n_run++;
        }
        printf("%s: %u inputs run without a finding (corpus replay; libFuzzer not built in)\n", argv[0], n_run);
        return r;
}
