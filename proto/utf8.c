/* utf8.c — UTF-8 sequences and character-boundary cuts (see utf8.h). */
#include <stdbool.h>
#include <string.h>

#include "utf8.h"

size_t utf8_sequence_size(const unsigned char *p, const unsigned char *end) {
        unsigned char c = p[0];
        size_t n;
        unsigned min;
        unsigned v;

        if (c < 0x80)
                return 1;
        if (c >= 0xc2 && c <= 0xdf)
                n = 2, v = c & 0x1f, min = 0x80;
        else if (c >= 0xe0 && c <= 0xef)
                n = 3, v = c & 0x0f, min = 0x800;
        else if (c >= 0xf0 && c <= 0xf4)
                n = 4, v = c & 0x07, min = 0x10000;
        else
                return 0;
        if ((size_t) (end - p) < n)
                return 0;
        for (size_t i = 1; i < n; i++) {
                if ((p[i] & 0xc0) != 0x80)
                        return 0;
                v = v << 6 | (p[i] & 0x3f);
        }
        if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
                return 0;
        return n;
}

static bool is_continuation(char c) {
        return ((unsigned char) c & 0xc0) == 0x80;
}

size_t utf8_prefix_size(const char *s, size_t size_max) {
        size_t n = strnlen(s, size_max);

        /* Back over the continuation bytes (a character has at most 3) to
         * the first byte of the last character: the prefix ends on a
         * whole character if that one's length fits in n. */
        size_t start = n;
        while (start > 0 && n - start < 3 && is_continuation(s[start - 1]))
                start--;
        if (start == 0)
                return n;
        size_t last = start - 1;
        unsigned char lead = (unsigned char) s[last];
        size_t need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
        return n - last < need ? last : n;
}
