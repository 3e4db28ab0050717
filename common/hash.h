/* hash.h — the non-cryptographic hash for in-memory tables.
 *
 * Owns: FNV-1a, 64-bit. Only for picking a slot in a cache the process
 * owns; never for anything an attacker could profit from colliding (keyed
 * hashes of values are libsodium's generichash). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define HASH_FNV1A_INIT 14695981039346656037ULL

static inline uint64_t hash_fnv1a_update(uint64_t h, const void *data, size_t size) {
        const unsigned char *p = data;
        for (size_t i = 0; i < size; i++)
                h = (h ^ p[i]) * 1099511628211ULL;
        return h;
}

static inline uint64_t hash_fnv1a_string(uint64_t h, const char *s) {
        for (; *s; s++)
                h = (h ^ (unsigned char) *s) * 1099511628211ULL;
        return h;
}

/* The high bits are the best mixed of FNV's: fold them into the low ones
 * before masking a power-of-two table index. */
static inline uint64_t hash_fold(uint64_t h) {
        return h ^ (h >> 32) ^ (h >> 17);
}
