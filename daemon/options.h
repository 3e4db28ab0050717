/* options.h — the daemon's command line.
 *
 * Owns: parsing and defaults. Exit codes the daemon uses live here too, as
 * they are part of its command-line contract (see credvaultd(8)). */
#pragma once

#include <stdbool.h>

enum {
        EXIT_USAGE = 2,     /* bad command line */
        EXIT_NO_KEY = 3,    /* no root key configured, or unreadable */
        EXIT_WRONG_KEY = 4, /* root key does not match the database */
        EXIT_STATE_DIR = 5, /* state directory or database unusable, or needs --trust-metadata-upgrade */
        EXIT_CORRUPT = 6,   /* database fails its integrity check */
        EXIT_SOCKET = 7,    /* cannot listen on the socket */
        EXIT_POLICY = 8,    /* the policy file is missing, unsafe or does not validate */
};

typedef struct Options {
        const char *socket_path;
        unsigned socket_mode; /* of a socket we bind ourselves */
        /* --credential-socket: LoadCredential='s socket when systemd
         * passes none; NULL: none. */
        const char *credential_socket_path;
        const char *state_dir;
        const char *root_key_file;
        bool dev;
        bool trust_metadata_upgrade; /* MAC a vault's unauthenticated rows as they stand, once */
        /* The policy file; NULL: POLICY_PATH_DEFAULT if it exists, else
         * none (only admins are served). */
        const char *policy_path;
        const char *check_policy_path;  /* --check-policy: validate this file and exit */
        const char *verify_backup_path; /* --verify-backup: check this copy and exit */
        const char *restore_path;       /* --restore: verify this copy, install it, exit */
        int idle_exit_sec;              /* -1: default (300 when socket-activated, else never) */
        int max_connections;
        int max_connections_per_uid;
        int client_idle_sec; /* close a client connection idle this long */
        int io_timeout_sec;  /* a started frame must arrive, a reply drain, this fast */
        /* --recover: the offline recovery (recover.c), then exit. */
        bool recover;
        /* --recovery-key-file: write a new vault's recovery key here. */
        const char *recovery_key_file;
        /* --check: SQLite's full integrity check of the database (check.c), then exit. */
        bool check;
} Options;

/* Returns 1 to run, 0 to exit successfully (--help, --version), or -EINVAL
 * after printing a usage error. */
int options_parse(int argc, char **argv, Options *ret);
