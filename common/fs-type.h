/* fs-type.h — file systems a daemon must not block its loop on.
 *
 * A write or fdatasync() on a network or FUSE file system waits for a
 * server or a user-space process, for as long as that one likes (an NFS
 * hard mount whose server is gone waits forever). Never: guesses from a
 * path; only the statfs(2) type of an open descriptor. */
#pragma once

#include <stdint.h>

/* For statfs(2)'s f_type: the name of a network or FUSE file system
 * ("NFS", "FUSE", "CIFS", ...), or NULL for one that is local. */
const char *fs_type_remote(uint64_t f_type);
