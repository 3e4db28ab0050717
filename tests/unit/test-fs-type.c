/* test-fs-type.c — common/fs-type.c: network and FUSE file systems named,
 * local ones not. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cmocka.h>

#include "fs-type.h"

static void test_remote_named(void **state) {
        (void) state;
        assert_string_equal(fs_type_remote(0x6969), "NFS");
        assert_string_equal(fs_type_remote(0x65735546), "FUSE");
        assert_string_equal(fs_type_remote(0xff534d42), "CIFS");
        assert_string_equal(fs_type_remote(0xfe534d42), "SMB2");
        assert_string_equal(fs_type_remote(0x01021997), "9p");
}

static void test_local_not(void **state) {
        (void) state;
        assert_null(fs_type_remote(0xef53));     /* ext4 */
        assert_null(fs_type_remote(0x58465342)); /* XFS */
        assert_null(fs_type_remote(0x9123683e)); /* Btrfs */
        assert_null(fs_type_remote(0x01021994)); /* tmpfs */
        assert_null(fs_type_remote(0));
}

/* What the daemon does with a descriptor: where the tests run (a local
 * temporary directory) is not refused. */
static void test_local_directory(void **state) {
        struct statfs sf;
        (void) state;
        int fd = open("/dev/shm", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                skip();
        assert_int_equal(fstatfs(fd, &sf), 0);
        close(fd);
        assert_null(fs_type_remote((uint64_t) sf.f_type));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_remote_named),
                cmocka_unit_test(test_local_not),
                cmocka_unit_test(test_local_directory),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
