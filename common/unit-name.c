/* unit-name.c — systemd unit names (see unit-name.h). */
#include <string.h>

#include "macro.h"
#include "unit-name.h"

bool unit_name_valid(const char *s, size_t n, size_t *ret_template_prefix) {
        static const char *const types[] = {
                ".service", ".socket", ".scope",     ".slice", ".target", ".timer",
                ".path",    ".mount",  ".automount", ".swap",  ".device",
        };
        size_t type_size = 0;
        const char *at = NULL;

        if (n == 0 || n > UNIT_NAME_SIZE_MAX)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(types); i++) {
                size_t k = strlen(types[i]);
                if (n > k && memcmp(s + n - k, types[i], k) == 0) {
                        type_size = k;
                        break;
                }
        }
        if (type_size == 0)
                return false;
        for (size_t i = 0; i < n - type_size; i++) {
                char c = s[i];
                if (c == '@') {
                        if (at || i == 0)
                                return false;
                        at = s + i;
                        continue;
                }
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':' ||
                      c == '-' || c == '_' || c == '.' || c == '\\'))
                        return false;
        }
        *ret_template_prefix = at && at + 1 == s + n - type_size ? (size_t) (at - s) + 1 : 0;
        return true;
}
