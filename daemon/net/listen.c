/* listen.c — the listening sockets (see listen.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "listen.h"
#include "log.h"
#include "macro.h"

static void names_free(char **names) {
        for (char **n = names; n && *n; n++)
                free(*n);
        free(names);
}

int listen_fds_activated(int *ret_main_fd, int *ret_credential_fd) {
        char **names = NULL;
        int main_fd = -1, credential_fd = -1, r = 0;

        int n = sd_listen_fds_with_names(1, &names);
        if (n < 0)
                return n;
        for (int i = 0; i < n && r == 0; i++) {
                int fd = SD_LISTEN_FDS_START + i;
                bool credentials = names && names[i] && strcmp(names[i], LISTEN_NAME_CREDENTIALS) == 0;
                const char *role = credentials ? "credential" : "protocol";
                if (sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0) <= 0) {
                        log_error("the activation socket named '%s' is not a listening Unix stream socket",
                                  names && names[i] ? names[i] : "?");
                        r = -EINVAL;
                } else if ((credentials ? credential_fd : main_fd) >= 0) {
                        log_error("socket activation passed more than one %s socket (named '%s')", role,
                                  names && names[i] ? names[i] : "?");
                        r = -EINVAL;
                } else {
                        (void) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
                        (void) fcntl(fd, F_SETFD, FD_CLOEXEC);
                        *(credentials ? &credential_fd : &main_fd) = fd;
                }
        }
        names_free(names);
        if (r == 0 && n > 0 && main_fd < 0) {
                log_error("socket activation passed the credential socket (FileDescriptorName=%s) but no "
                          "protocol socket",
                          LISTEN_NAME_CREDENTIALS);
                r = -EINVAL;
        }
        if (r < 0)
                return r;
        *ret_main_fd = main_fd;
        *ret_credential_fd = credential_fd;
        return n;
}

int listen_on_path(const char *path, unsigned mode, int *ret_fd) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_(closep) int fd = -1;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return negative_errno();

        struct stat st;
        if (lstat(path, &st) == 0) {
                if (!S_ISSOCK(st.st_mode))
                        return -EEXIST;
                _cleanup_(closep) int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (probe >= 0 && connect(probe, (struct sockaddr *) &sa, sizeof(sa)) == 0)
                        return -EADDRINUSE;
                unlink(path);
        }
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return negative_errno();
        /* Like SocketMode= in the .socket units, set before listen() so
         * no one connects under a wider mode. */
        if (chmod(path, mode) < 0 || listen(fd, SOMAXCONN) < 0) {
                int r = negative_errno();
                unlink(path);
                return r;
        }
        *ret_fd = TAKE_FD(fd);
        return 0;
}
