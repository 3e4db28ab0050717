/* fs-type.c — see fs-type.h. The magic numbers are <linux/magic.h>'s (and,
 * for those it lacks, the kernel's fs/ sources), written out here so that
 * the list does not depend on the headers of the build machine. */
#include <stddef.h>

#include "fs-type.h"
#include "macro.h"

static const struct {
        uint64_t magic;
        const char *name;
} remote[] = {
        { 0x6969, "NFS" },        /* NFS_SUPER_MAGIC */
        { 0x65735546, "FUSE" },   /* FUSE_SUPER_MAGIC (sshfs, s3fs, fuseblk, ...) */
        { 0xff534d42, "CIFS" },   /* CIFS_SUPER_MAGIC */
        { 0xfe534d42, "SMB2" },   /* SMB2_SUPER_MAGIC */
        { 0x517b, "SMB" },        /* SMB_SUPER_MAGIC */
        { 0x00c36400, "Ceph" },   /* CEPH_SUPER_MAGIC */
        { 0x5346414f, "AFS" },    /* AFS_SUPER_MAGIC */
        { 0x6b414653, "kAFS" },   /* AFS_FS_MAGIC */
        { 0x73757245, "Coda" },   /* CODA_SUPER_MAGIC */
        { 0x01021997, "9p" },     /* V9FS_MAGIC */
        { 0x564c, "NCP" },        /* NCP_SUPER_MAGIC */
        { 0x47504653, "GPFS" },   /* GPFS_SUPER_MAGIC */
        { 0x0bd00bd0, "Lustre" }, /* LL_SUPER_MAGIC */
        { 0x013111a8, "IBRIX" },  /* IBRIX_SUPER_MAGIC */
        { 0x19830326, "BeeGFS" }, /* BEEGFS_SUPER_MAGIC */
        { 0x1161970, "GFS2" },    /* GFS2_MAGIC: a cluster lock manager behind it */
        { 0x7461636f, "OCFS2" },  /* OCFS2_SUPER_MAGIC: likewise */
};

const char *fs_type_remote(uint64_t f_type) {
        for (size_t i = 0; i < ELEMENTSOF(remote); i++)
                if (remote[i].magic == f_type)
                        return remote[i].name;
        return NULL;
}
