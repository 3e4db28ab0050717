/* parse-util.c — strict decimal parsing (see parse-util.h). */
#include <errno.h>

#include "parse-util.h"

int parse_int64(const char *s, int64_t min, int64_t max, int64_t *ret) {
        int64_t v = 0;
        const char *p = s;

        /* By hand: strtoll would take a sign, spaces and "0x". */
        if (*p < '0' || *p > '9')
                return -EINVAL;
        for (; *p >= '0' && *p <= '9'; p++) {
                if (v > (INT64_MAX - (*p - '0')) / 10)
                        return -ERANGE;
                v = v * 10 + (*p - '0');
        }
        if (*p)
                return -EINVAL;
        if (v < min || v > max)
                return -ERANGE;
        *ret = v;
        return 0;
}

int parse_int(const char *s, int min, int max, int *ret) {
        int64_t v;
        int r = parse_int64(s, min, max, &v);
        if (r < 0)
                return r;
        *ret = (int) v;
        return 0;
}
