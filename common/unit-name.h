/* unit-name.h — whether a string is a systemd unit name.
 *
 * Owns: systemd's rules for unit names (unit_name_is_valid() in systemd),
 * for the policy's "unit:" principals and for the unit a credential
 * request names (daemon/identity/credential-address.c). Never: looks a
 * unit up; a valid name need not exist. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* systemd's UNIT_NAME_MAX, with its NUL. */
#define UNIT_NAME_SIZE_MAX 255

/* Whether s (size bytes, no NUL among them) is a unit name: a known type
 * suffix, the characters systemd allows, at most one '@' (not first).
 * "foo@.service" is a template: *ret_template_prefix is then the size of
 * "foo@", else 0 (a plain unit or an instance, "foo@x.service"). */
bool unit_name_valid(const char *s, size_t size, size_t *ret_template_prefix);
