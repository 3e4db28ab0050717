/* json-wipe.h — jansson's allocator, made to wipe what it frees.
 *
 * Owns: the one wiping allocator of the project. JSON text and trees carry
 * secret values (requests, token sets, replies), and jansson's own free()
 * leaves them in the heap. Blocks stay plain malloc() blocks, so text that
 * jansson returns may still be freed with free() (it is then not wiped:
 * wipe it first if it held a value). Process-wide: install it once, before
 * any JSON is made. */
#pragma once

void json_wipe_install(void);
