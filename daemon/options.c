/* options.c — command-line parsing for credvaultd (see options.h). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "options.h"
#include "parse-util.h"
#include "server.h"
#include "version.h"

static void help(void) {
        printf("Usage: credvaultd [OPTIONS]\n"
               "\n"
               "Encrypted credential vault daemon for plugin services.\n"
               "\n"
               "  --socket PATH         listen here when not socket-activated\n"
               "                        (default /run/credvault/socket)\n"
               "  --socket-mode MODE    its mode, octal (default 0660: the daemon's user\n"
               "                        and group); under a policy 0666 is safe\n"
               "  --credential-socket PATH  also serve systemd's LoadCredential= on this\n"
               "                        socket (mode 0600) when systemd passes none\n"
               "  --state-dir DIR       database directory (default $STATE_DIRECTORY\n"
               "                        or /var/lib/credvault)\n"
               "  --root-key-file FILE  root key: 32 raw bytes or 64 hex digits\n"
               "                        (default $CREDENTIALS_DIRECTORY/credvault.key)\n"
               "  --dev                 development mode: generate a root key into\n"
               "                        the state directory on first start\n"
               "  --trust-metadata-upgrade\n"
               "                        trust the plugin rows and token states of a\n"
               "                        vault from before metadata authentication, once\n"
               "  --policy FILE         who may do what (default /etc/credvault/policy.json\n"
               "                        if it exists; without one only admins are served)\n"
               "  --check-policy FILE   validate a policy file and exit (0 valid, 1 not)\n"
               "  --verify-backup FILE  open a backup with the root key, check every record\n"
               "                        and exit (the file is not changed)\n"
               "  --restore FILE        verify a backup and install it as the database\n"
               "                        (the daemon must be stopped), then exit\n"
               "  --idle-exit SECONDS   exit after this long without clients\n"
               "                        (default 300 when socket-activated, 0 = never)\n"
               "  --max-connections N   concurrent client connections (default 256);\n"
               "                        needs 2N+%d file descriptors (RLIMIT_NOFILE)\n"
               "  --max-connections-per-uid N\n"
               "                        of which one uid may hold (default 64)\n"
               "  --client-idle SECONDS close idle client connections (default 300)\n"
               "  --io-timeout SECONDS  deadline for a started frame or a reply (default 10)\n"
               "  --recovery-key-file FILE\n"
               "                        when this start creates the vault, write its\n"
               "                        recovery key to FILE (created 0600)\n"
               "  --recover             offline: read the recovery key on stdin, open the\n"
               "                        vault with it and rewrap it under the root key\n"
               "                        given as usual (--dev: a fresh development key)\n"
               "  --check               offline: run SQLite's full integrity check on the\n"
               "                        database, print ok or the problem, exit 0 or 6\n"
               "  --help, --version\n"
               "\n"
               "See credvaultd(8).\n",
               SERVER_FDS_RESERVED);
}

int options_parse(int argc, char **argv, Options *ret) {
        enum {
                ARG_SOCKET = 0x100,
                ARG_STATE,
                ARG_KEY,
                ARG_DEV,
                ARG_IDLE,
                ARG_MAXCONN,
                ARG_CLIENT_IDLE,
                ARG_IO,
                ARG_VERSION,
                ARG_MAXCONN_UID,
                ARG_TRUST_UPGRADE,
                ARG_POLICY,
                ARG_CHECK_POLICY,
                ARG_SOCKET_MODE,
                ARG_RECOVER,
                ARG_RECOVERY_KEY_FILE,
                ARG_VERIFY_BACKUP,
                ARG_RESTORE,
                ARG_CHECK,
                ARG_CREDENTIAL_SOCKET,
        };
        static const struct option longopts[] = {
                { "socket", required_argument, NULL, ARG_SOCKET },
                { "state-dir", required_argument, NULL, ARG_STATE },
                { "root-key-file", required_argument, NULL, ARG_KEY },
                { "dev", no_argument, NULL, ARG_DEV },
                { "idle-exit", required_argument, NULL, ARG_IDLE },
                { "max-connections", required_argument, NULL, ARG_MAXCONN },
                { "client-idle", required_argument, NULL, ARG_CLIENT_IDLE },
                { "io-timeout", required_argument, NULL, ARG_IO },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "max-connections-per-uid", required_argument, NULL, ARG_MAXCONN_UID },
                { "trust-metadata-upgrade", no_argument, NULL, ARG_TRUST_UPGRADE },
                { "policy", required_argument, NULL, ARG_POLICY },
                { "check-policy", required_argument, NULL, ARG_CHECK_POLICY },
                { "socket-mode", required_argument, NULL, ARG_SOCKET_MODE },
                { "recover", no_argument, NULL, ARG_RECOVER },
                { "recovery-key-file", required_argument, NULL, ARG_RECOVERY_KEY_FILE },
                { "verify-backup", required_argument, NULL, ARG_VERIFY_BACKUP },
                { "restore", required_argument, NULL, ARG_RESTORE },
                { "check", no_argument, NULL, ARG_CHECK },
                { "credential-socket", required_argument, NULL, ARG_CREDENTIAL_SOCKET },
                {},
        };
        Options o = {
                .socket_path = "/run/credvault/socket",
                .socket_mode = 0660,
                .state_dir = getenv("STATE_DIRECTORY") ?: "/var/lib/credvault",
                .idle_exit_sec = -1,
                .max_connections = 256,
                .max_connections_per_uid = 64,
                .client_idle_sec = 300,
                .io_timeout_sec = 10,
        };
        int c, r = 0;

        optind = 1;
        while ((c = getopt_long(argc, argv, "h", longopts, NULL)) >= 0) {
                switch (c) {
                case ARG_SOCKET:
                        o.socket_path = optarg;
                        break;
                case ARG_CREDENTIAL_SOCKET:
                        o.credential_socket_path = optarg;
                        break;
                case ARG_STATE:
                        o.state_dir = optarg;
                        break;
                case ARG_KEY:
                        o.root_key_file = optarg;
                        break;
                case ARG_DEV:
                        o.dev = true;
                        break;
                case ARG_TRUST_UPGRADE:
                        o.trust_metadata_upgrade = true;
                        break;
                case ARG_POLICY:
                        o.policy_path = optarg;
                        break;
                case ARG_RECOVER:
                        o.recover = true;
                        break;
                case ARG_RECOVERY_KEY_FILE:
                        o.recovery_key_file = optarg;
                        break;
                case ARG_CHECK_POLICY:
                        o.check_policy_path = optarg;
                        break;
                case ARG_VERIFY_BACKUP:
                        o.verify_backup_path = optarg;
                        break;
                case ARG_RESTORE:
                        o.restore_path = optarg;
                        break;
                case ARG_CHECK:
                        o.check = true;
                        break;
                case ARG_SOCKET_MODE: {
                        char *end;
                        errno = 0;
                        unsigned long m = strtoul(optarg, &end, 8);
                        /* Read and write bits only: a socket is connected
                         * to, never executed. */
                        r = errno || end == optarg || *end || (m & ~0666UL) ? -EINVAL : 0;
                        o.socket_mode = (unsigned) m;
                        break;
                }
                case ARG_IDLE:
                        r = parse_int(optarg, 0, INT_MAX / 1000, &o.idle_exit_sec);
                        break;
                case ARG_MAXCONN:
                        r = parse_int(optarg, 1, 65536, &o.max_connections);
                        break;
                case ARG_MAXCONN_UID:
                        r = parse_int(optarg, 1, 65536, &o.max_connections_per_uid);
                        break;
                case ARG_CLIENT_IDLE:
                        r = parse_int(optarg, 1, INT_MAX / 1000, &o.client_idle_sec);
                        break;
                case ARG_IO:
                        r = parse_int(optarg, 1, 3600, &o.io_timeout_sec);
                        break;
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("credvaultd %s\n", CREDVAULT_VERSION);
                        return 0;
                default:
                        fprintf(stderr, "Try 'credvaultd --help'.\n");
                        return -EINVAL;
                }
                if (r < 0) {
                        const char *name = "?";
                        for (const struct option *lo = longopts; lo->name; lo++)
                                if (lo->val == c)
                                        name = lo->name;
                        fprintf(stderr, "credvaultd: invalid value '%s' for --%s\n", optarg, name);
                        return -EINVAL;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "credvaultd: unexpected argument '%s'\nTry 'credvaultd --help'.\n", argv[optind]);
                return -EINVAL;
        }
        if (o.recover && o.recovery_key_file) {
                fprintf(stderr, "credvaultd: --recover keeps the vault's recovery key; --recovery-key-file is for a "
                                "new vault\n");
                return -EINVAL;
        }
        if (!!o.verify_backup_path + !!o.restore_path + o.recover + o.check > 1) {
                fprintf(stderr, "credvaultd: --verify-backup, --restore, --recover and --check exclude each other\n");
                return -EINVAL;
        }
        *ret = o;
        return 1;
}
