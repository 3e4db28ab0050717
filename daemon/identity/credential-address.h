/* credential-address.h — which unit asks for which credential, as the
 * service manager says it in the address of its end of the socket.
 *
 * Owns: the format systemd binds its end of a LoadCredential= socket to
 * (systemd.exec(5)): the abstract address "\0" RANDOM "/unit/" UNIT "/"
 * ID, RANDOM being a 64-bit random number in lowercase hex without
 * leading zeros (systemd's "@%" PRIx64 "/unit/%s/%s"), and its strict
 * validation. Never: decides whether to believe it (anyone can bind any
 * abstract address; only the service manager's word counts, which is
 * daemon/ops/credential.c's decision on the peer's uid), or what the
 * credential id means.
 *
 * The address has no NUL after its first byte and no trailing one:
 * systemd binds exactly the bytes of the name. */
#pragma once

#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "unit-name.h"

/* systemd's credential names are file names (NAME_MAX) that are also
 * valid descriptor names (fdname_is_valid(): printable ASCII, no ':'). */
#define CREDENTIAL_ID_SIZE_MAX 255

typedef struct CredentialAddress {
        char unit[UNIT_NAME_SIZE_MAX + 1]; /* a unit name, never a template */
        char id[CREDENTIAL_ID_SIZE_MAX + 1];
} CredentialAddress;

/* Parse the peer address sa of size (getpeername()'s answer). 0 and
 * *ret filled; -EBADMSG if it is not such an address (a path, unnamed,
 * a NUL inside, no "/unit/", a bad random part, a unit name systemd
 * would not make, an id systemd would not accept); *ret untouched then. */
int credential_address_parse(const struct sockaddr_un *sa, socklen_t size, CredentialAddress *ret);

/* Whether s is a credential name systemd accepts: 1..CREDENTIAL_ID_SIZE_MAX
 * printable ASCII bytes, no '/' or ':', not "." or "..". */
int credential_id_check(const char *s, size_t size);
