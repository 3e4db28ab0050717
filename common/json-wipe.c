/* json-wipe.c — wiping allocator for jansson (see json-wipe.h). */
#include <jansson.h>
#include <malloc.h>
#include <sodium.h>
#include <stdlib.h>

#include "json-wipe.h"

/* jansson does not pass the size to free(), so ask malloc for it: the whole
 * usable block is wiped, which covers what was asked for. */
static void json_wipe_free(void *p) {
        if (!p)
                return;
        sodium_memzero(p, malloc_usable_size(p));
        free(p);
}

void json_wipe_install(void) {
        json_set_alloc_funcs(malloc, json_wipe_free);
}
