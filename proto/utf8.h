/* utf8.h — UTF-8 text as the protocol carries it.
 *
 * Owns: the one UTF-8 decoder of proto/ (json-flat.c reads requests and
 * replies with it) and cutting text on a character boundary, which every
 * message that quotes a client's string, or is cut to a size, goes
 * through: a reply must stay valid UTF-8, or no JSON parser reads it.
 * Never: allocates. */
#pragma once

#include <stddef.h>

/* The length of the valid UTF-8 sequence at p (RFC 3629: no overlong form,
 * no surrogate, nothing past U+10FFFF), or 0 if p < end does not start
 * one. */
size_t utf8_sequence_size(const unsigned char *p, const unsigned char *end);

/* The longest prefix of the NUL-terminated s that is at most size_max
 * bytes and does not end inside a character: strlen(s) if that is within
 * size_max and s ends on a whole character. s is valid UTF-8, or was until
 * cut at some byte (a message cut by snprintf()); for "%.*s". */
size_t utf8_prefix_size(const char *s, size_t size_max);
