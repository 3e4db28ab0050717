/* text-escape.c — see text-escape.h. */
#include <stdio.h>

#include "text-escape.h"

char *text_escape(const char *in, char *out, size_t out_size) {
        static const char hex[] = "0123456789abcdef";
        size_t o = 0;

        if (out_size == 0)
                return out;
        for (const unsigned char *p = (const unsigned char *) in; *p; p++) {
                if (*p >= 0x20 && *p < 0x7f && *p != '\\') {
                        if (o + 1 >= out_size)
                                break;
                        out[o++] = (char) *p;
                        continue;
                }
                /* Whole escapes only: never half of one at the end. */
                if (o + 4 >= out_size)
                        break;
                out[o++] = '\\';
                out[o++] = 'x';
                out[o++] = hex[*p >> 4];
                out[o++] = hex[*p & 0xf];
        }
        out[o] = '\0';
        return out;
}
