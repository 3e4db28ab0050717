/* credential-address.c — the unit and credential id in a LoadCredential=
 * peer's address (see credential-address.h).
 *
 * Strict on purpose: the unit read here is matched against the policy's
 * "unit:" principals, so anything systemd would never bind is refused
 * rather than repaired (no trailing NUL trimmed, no upper-case hex, no
 * empty parts), and a name that passes is one systemd could have made. */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "credential-address.h"

#define UNIT_INFIX "/unit/"
/* A uint64_t in hex: 1 to 16 digits. */
#define RANDOM_DIGITS_MAX 16

int credential_id_check(const char *s, size_t size) {
        if (size == 0 || size > CREDENTIAL_ID_SIZE_MAX)
                return -EBADMSG;
        if ((size == 1 && s[0] == '.') || (size == 2 && s[0] == '.' && s[1] == '.'))
                return -EBADMSG;
        for (size_t i = 0; i < size; i++)
                if (s[i] < 0x21 || s[i] > 0x7e || s[i] == '/' || s[i] == ':')
                        return -EBADMSG;
        return 0;
}

/* Lowercase hex as printf's PRIx64 writes it: no leading zero unless it
 * is the number 0. */
static size_t random_part_size(const char *s, size_t size) {
        size_t n = 0;
        while (n < size && n <= RANDOM_DIGITS_MAX && ((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
                n++;
        if (n == 0 || n > RANDOM_DIGITS_MAX || (n > 1 && s[0] == '0'))
                return 0;
        return n;
}

int credential_address_parse(const struct sockaddr_un *sa, socklen_t size, CredentialAddress *ret) {
        size_t template_prefix;

        if (size <= offsetof(struct sockaddr_un, sun_path) + 1 || size > sizeof(struct sockaddr_un) ||
            sa->sun_family != AF_UNIX || sa->sun_path[0] != '\0')
                return -EBADMSG; /* unnamed, or a path: not systemd's */
        const char *s = sa->sun_path + 1;
        size_t n = size - offsetof(struct sockaddr_un, sun_path) - 1;
        if (memchr(s, '\0', n))
                return -EBADMSG;

        size_t k = random_part_size(s, n);
        if (k == 0 || n - k < strlen(UNIT_INFIX) || memcmp(s + k, UNIT_INFIX, strlen(UNIT_INFIX)) != 0)
                return -EBADMSG;
        s += k + strlen(UNIT_INFIX);
        n -= k + strlen(UNIT_INFIX);

        /* A unit name has no '/', so the first one ends it. */
        const char *slash = memchr(s, '/', n);
        if (!slash)
                return -EBADMSG;
        size_t unit_size = (size_t) (slash - s), id_size = n - unit_size - 1;
        if (!unit_name_valid(s, unit_size, &template_prefix) || template_prefix > 0)
                return -EBADMSG; /* a template never runs, so never asks */
        if (credential_id_check(slash + 1, id_size) < 0)
                return -EBADMSG;

        memcpy(ret->unit, s, unit_size);
        ret->unit[unit_size] = '\0';
        memcpy(ret->id, slash + 1, id_size);
        ret->id[id_size] = '\0';
        return 0;
}
