/* commands.c — the table of the credvault command's commands.
 *
 * Owns: each command's words, arguments, accepted options, summary, help
 * paragraph and exit statuses, and the handler it runs (cmd-*.c); help,
 * completion and dispatch (main.c) are all made of it (command.h). Split
 * from main.c so that adding a command touches only this table.
 * Never: code; a command's behaviour is its handler's. */
#include "cli.h"
#include "command.h"

/* The commands: what help, completion and dispatch are made of. */
const CliCommand cli_commands[] = {
        { "plugin", "add", "FILE|- [--name NAME] [--domain DOMAIN]",
          "register a plugin from its manifest or auth block", 1, 1, CLI_OPT_NAME | CLI_OPT_DOMAIN, cmd_plugin_add,
          .help = "FILE is an ai-plugin.json manifest or its auth block; \"-\" reads it from stdin.\n"
                  "The daemon checks every field and names the bad one; nothing is registered then.",
          .exits = { CLI_EXITS_DAEMON, CLI_EXIT_CONFLICT } },
        { "plugin", "ls", "[--names]", "list registered plugins", 0, 0, CLI_OPT_NAMES, cmd_plugin_ls,
          .help = "--names prints the names alone, one a line (what shell completion asks for).",
          .exits = { CLI_EXITS_DAEMON } },
        { "plugin", "show", "NAME [--expiring DURATION]", "what the vault holds for a plugin (never a value)", 1, 1,
          CLI_OPT_EXPIRING, cmd_plugin_show,
          .help = "--expiring DURATION: the token sets that expire within it count as expiring (default 5m).",
          .exits = { CLI_EXITS_DAEMON } },
        { "plugin", "rm", "NAME --yes", "remove a plugin with its secrets, token sets and API keys", 1, 1, CLI_OPT_YES,
          cmd_plugin_rm, .help = "Without --yes, says what would be removed and removes nothing (exit 2).",
          .exits = { CLI_EXITS_DAEMON, CLI_EXIT_NOT_FOUND } },
        { "plugin", "manifest", "NAME", "print the auth block the plugin's manifest needs", 1, 1, 0,
          cmd_plugin_manifest, .exits = { CLI_EXITS_DAEMON, CLI_EXIT_NOT_FOUND } },
        { "secret", "put", "PLUGIN NAME [--no-confirm]", "store stdin, byte-exact, as a new version", 2, 2,
          CLI_OPT_NO_CONFIRM, cmd_secret_put,
          .help = "The value is read from stdin byte for byte, never from an argument. On a terminal it\n"
                  "is typed after a prompt, unseen, twice to confirm (--no-confirm: once); the Enter\n"
                  "key is not part of it, and an empty value is refused (put one from </dev/null).",
          .exits = { CLI_EXITS_DAEMON, CLI_EXIT_NOT_FOUND } },
        { "secret", "get", "PLUGIN NAME [--stage STAGE] [--newline=WHEN]",
          "write the current (or another stage's) value to stdout", 2, 2, CLI_OPT_STAGE | CLI_OPT_NEWLINE,
          cmd_secret_get,
          .help = "The value is written as stored, followed by a newline only when stdout is a\n"
                  "terminal (--newline=auto, the default); --newline=always or never to choose.\n"
                  "--json gives the value in base64 (value_base64) with its metadata.",
          .exits = { CLI_EXITS_DAEMON, CLI_EXIT_NOT_FOUND } },
        { "secret", "generate", "PLUGIN NAME [--bytes N] [--newline=WHEN]",
          "store a fresh random value and print it once", 2, 2, CLI_OPT_BYTES | CLI_OPT_NEWLINE, cmd_secret_generate,
          .help = "The value (base64url text) is printed once, followed by a newline (--newline=always,\n"
                  "the default here; --newline=auto or never to choose).",
          .exits = { CLI_EXITS_DAEMON } },
        { "secret", "verify", "PLUGIN NAME [--raw]", "check the credential on stdin against the secret", 2, 2,
          CLI_OPT_RAW, cmd_secret_verify,
          .help = "stdin holds an HTTP Authorization header value (\"Bearer X\", \"Basic X\"; one final\n"
                  "newline is ignored), or with --raw the bare value, byte-exact. On a terminal it is\n"
                  "typed once after a prompt, unseen.",
          .exits = { CLI_EXITS_DAEMON, CLI_EXIT_NOT_FOUND, CLI_EXIT_NO_MATCH } },
        { "secret", "ls", "[PLUGIN]", "list secrets (metadata only)", 0, 1, 0, cmd_secret_ls,
          .exits = { CLI_EXITS_DAEMON } },
        { "secret", "rm", "PLUGIN NAME", "delete a secret", 2, 2, 0, cmd_secret_rm,
          .exits = { CLI_EXITS_DAEMON, CLI_EXIT_NOT_FOUND } },
        { "secret", "rotate", "PLUGIN NAME [--grace DURATION] [--generate[=BYTES]] [--no-confirm] [--newline=WHEN]",
          "stage a new value (stdin, or generated) as pending", 2, 2,
          CLI_OPT_GRACE | CLI_OPT_GENERATE | CLI_OPT_NO_CONFIRM | CLI_OPT_NEWLINE, cmd_secret_rotate,
          .help = "The new value is read as secret put reads it (on a terminal: typed twice unless\n"
                  "--no-confirm), or made by the daemon with --generate and printed once, with a\n"
                  "newline unless --newline=never (or auto, off a terminal). --grace DURATION: how long\n"
                  "the current value stays valid once this one is promoted (up to 366d).",
          .exits = { CLI_EXITS_DAEMON, CLI_EXIT_NOT_FOUND, CLI_EXIT_CONFLICT } },
        { "secret", "promote", "PLUGIN NAME [--grace DURATION]",
          "make the pending value current; the old one stays valid for the grace", 2, 2, CLI_OPT_GRACE,
          cmd_secret_promote, .help = "--grace DURATION overrides the grace given at rotate (up to 366d).",
          .exits = { CLI_EXITS_DAEMON, CLI_EXIT_NOT_FOUND, CLI_EXIT_CONFLICT } },
        { "secret", "history", "PLUGIN NAME", "list a secret's versions, stages and deadlines", 2, 2, 0,
          cmd_secret_history, .exits = { CLI_EXITS_DAEMON, CLI_EXIT_NOT_FOUND } },
        { "oauth", "verify-client", "PLUGIN [--post]", "check the client credentials on stdin", 1, 1, CLI_OPT_POST,
          cmd_oauth_verify_client,
          .help = "stdin holds the Authorization header (Basic), or with --post the form body\n"
                  "(application/x-www-form-urlencoded client_id and client_secret). On a terminal it\n"
                  "is typed once after a prompt, unseen.",
          .exits = { CLI_EXITS_DAEMON, CLI_EXIT_NOT_FOUND, CLI_EXIT_NO_MATCH } },
        { "apikey", "put", "PLUGIN USER [--no-confirm]", "store the API key on stdin, byte-exact, for a user", 2, 2,
          CLI_OPT_NO_CONFIRM, cmd_apikey_put,
          .help = "The key is read from stdin byte for byte; on a terminal it is typed after a prompt,\n"
                  "unseen, twice to confirm (--no-confirm: once), without the Enter key.",
          .exits = { CLI_EXITS_DAEMON, CLI_EXIT_CONFLICT } },
        { "apikey", "lookup", "PLUGIN [--header]", "print the user whose API key is on stdin", 1, 1, CLI_OPT_HEADER,
          cmd_apikey_lookup,
          .help = "stdin holds the key, byte-exact, or with --header an Authorization header value.\n"
                  "On a terminal it is typed once after a prompt, unseen.",
          .exits = { CLI_EXITS_DAEMON, CLI_EXIT_NOT_FOUND, CLI_EXIT_NO_MATCH } },
        { "apikey", "ls", "PLUGIN", "list the users with an API key (metadata only)", 1, 1, 0, cmd_apikey_ls,
          .exits = { CLI_EXITS_DAEMON } },
        { "apikey", "rm", "PLUGIN USER", "delete a user's API key", 2, 2, 0, cmd_apikey_rm,
          .exits = { CLI_EXITS_DAEMON, CLI_EXIT_NOT_FOUND } },
        { "token", "put", "PLUGIN USER", "store the token endpoint response on stdin", 2, 2, 0, cmd_token_put,
          .help = "stdin holds a token endpoint's JSON response: access_token and token_type required,\n"
                  "expires_in or expires_at, other fields kept.",
          .exits = { CLI_EXITS_DAEMON } },
        { "token", "get", "PLUGIN USER [--min-valid DURATION]", "print a user's token set as JSON", 2, 2,
          CLI_OPT_MIN_VALID, cmd_token_get,
          .help = "--min-valid DURATION: refuse (exit 7) a token set that is valid for less.",
          .exits = { CLI_EXITS_DAEMON, CLI_EXIT_NOT_FOUND, CLI_EXIT_REFRESH_REQUIRED, CLI_EXIT_REAUTH_REQUIRED,
                     CLI_EXIT_REFRESH_IN_PROGRESS } },
        { "token", "ls", "PLUGIN [--expiring DURATION] [--reveal]", "list a plugin's token sets and their states", 1, 1,
          CLI_OPT_EXPIRING | CLI_OPT_REVEAL, cmd_token_ls,
          .help = "--expiring DURATION: the sets that expire within it show as expiring (default 5m);\n"
                  "--reveal prints the access tokens too. REFRESH_TRIED, RESULT and NEXT_REFRESH: the\n"
                  "last refresh attempt, what came of it, and when credvault-refresher tries next.\n"
                  "With the refresh class on the plugin, the deleted sets pending revocation follow.",
          .exits = { CLI_EXITS_DAEMON } },
        { "token", "rm", "PLUGIN USER", "delete a user's token set", 2, 2, 0, cmd_token_rm,
          .help = "With a revocation_endpoint secret on the plugin, its token waits to be revoked at\n"
                  "the provider by credvault-refresher (see token revocations).",
          .exits = { CLI_EXITS_DAEMON, CLI_EXIT_NOT_FOUND } },
        { "token", "revocations", "PLUGIN", "list the deleted token sets pending revocation at the provider", 1, 1, 0,
          cmd_token_revocations,
          .help = "A token set deleted while the plugin has a revocation_endpoint secret waits here until\n"
                  "credvault-refresher has revoked its tokens (RFC 7009), or 10 attempts or 7 days.",
          .exits = { CLI_EXITS_DAEMON } },
        { "status", NULL, "", "show the daemon's health, policy and audit trail", 0, 0, 0, cmd_status,
          .exits = { CLI_EXITS_DAEMON } },
        { "whoami", NULL, "", "who the daemon takes you for, and what the policy lets you do", 0, 0, 0, cmd_whoami,
          .exits = { CLI_EXITS_DAEMON } },
        { "policy", "check", "FILE", "validate a policy file (credvaultd --check-policy)", 1, 1, 0, cmd_policy_check,
          .help = "Exit 1 if the file is invalid; the checker names what is wrong.", .exits = { 0 } },
        /* The verbs before the bare "audit", which command_find() would
         * take for any of them. */
        { "audit", "verify", "", "check the audit trail's chain of records", 0, 0, 0, cmd_audit_verify,
          .help = "Exit 1 if the chain is broken.", .exits = { CLI_EXITS_DAEMON } },
        { "audit", "prune", "--before T", "remove the audit records older than T", 0, 0, CLI_OPT_BEFORE,
          cmd_audit_prune, .exits = { CLI_EXITS_DAEMON } },
        { "audit", NULL, "[--since T] [--until T] [--plugin P] [--principal X] [--op OP]",
          "print the audit trail, oldest first", 0, 0,
          CLI_OPT_SINCE | CLI_OPT_UNTIL | CLI_OPT_PLUGIN | CLI_OPT_PRINCIPAL | CLI_OPT_OP, cmd_audit_ls,
          .help = "A time T is a date (2026-11-30), a date and time with its zone\n"
                  "(2026-11-30T12:00:00Z), @UNIXSECONDS, or a DURATION ago (2h, 1d 12h). A principal X is\n"
                  "uid:N, user:NAME, unit:NAME or a unit's name. --json: one object per record and line.",
          .exits = { CLI_EXITS_DAEMON } },
        { "key", "rotate", "", "make a fresh key-encryption key (KEK) the primary", 0, 0, 0, cmd_key_rotate,
          .exits = { CLI_EXITS_DAEMON } },
        { "key", "rewrap", "[--wait]", "rewrap every record's data key under the primary KEK, in the background", 0, 0,
          CLI_OPT_WAIT, cmd_key_rewrap,
          .help = "--wait polls until every record is on the primary KEK: a progress bar on a\n"
                  "terminal's stderr, else (or with --json) one JSON line a poll on stdout. Ctrl-C stops\n"
                  "the waiting (exit 130), not the rewrap.",
          .exits = { CLI_EXITS_DAEMON, CLI_EXIT_INTERRUPTED } },
        { "key", "status", "", "list the KEKs and the rewrap's progress", 0, 0, 0, cmd_key_status,
          .exits = { CLI_EXITS_DAEMON } },
        { "key", "retire", "VERSION", "drop a KEK that wraps no record any more", 1, 1, 0, cmd_key_retire,
          .exits = { CLI_EXITS_DAEMON, CLI_EXIT_NOT_FOUND, CLI_EXIT_CONFLICT } },
        { "key", "rotate-root", "[--new-key-file FILE]",
          "rewrap the keyring under a new root key (without FILE: a development vault)", 0, 0, CLI_OPT_NEW_KEY_FILE,
          cmd_key_rotate_root, .exits = { CLI_EXITS_DAEMON, CLI_EXIT_CONFLICT } },
        { "key", "new-root-key", "FILE", "write a fresh random root key file (0600, never over a file)", 1, 1, 0,
          cmd_key_new_root_key, .exits = { CLI_EXIT_CONFLICT } },
        { "key", "recovery-key", "[--output FILE] [--replace] [--newline=WHEN]",
          "make the vault's recovery key and print it once (or write it to FILE)", 0, 0,
          CLI_OPT_OUTPUT | CLI_OPT_REPLACE | CLI_OPT_NEWLINE, cmd_key_recovery_key,
          .help = "The key is printed once, with a newline (--newline=auto or never to choose), or\n"
                  "written to FILE.",
          .exits = { CLI_EXITS_DAEMON, CLI_EXIT_CONFLICT } },
        { "init", NULL, "[--recovery-key FILE]", "give the vault a recovery key if it has none", 0, 0,
          CLI_OPT_RECOVERY_KEY, cmd_init, .exits = { CLI_EXITS_DAEMON } },
        { "backup", NULL, "FILE | --verify FILE [--root-key-file F] [--state-dir D] [--dev]",
          "copy the vault into a new FILE while it serves, or check a copy", 1, 1,
          CLI_OPT_VERIFY | CLI_OPT_KEY_FILE | CLI_OPT_STATE_DIR | CLI_OPT_DEV, cmd_backup,
          .help = "backup FILE creates FILE (0600; never an existing one) and has the daemon write a\n"
                  "consistent copy of the vault into it while it serves. backup --verify FILE runs\n"
                  "credvaultd --verify-backup FILE with the root key options given; its exit status is\n"
                  "the command's: 0 ok, 3 no key, 4 wrong key, 5 unusable file, 6 damaged or altered.",
          .exits = { CLI_EXITS_DAEMON, CLI_EXIT_NOT_FOUND, CLI_EXIT_NO_MATCH, CLI_EXIT_CONFLICT } },
        { "import", NULL, "PLUGIN FILE|- [--dry-run]", "store each NAME=VALUE of an env file as a secret of PLUGIN", 2,
          2, CLI_OPT_DRY_RUN, cmd_import,
          .help = "The file is read whole and checked first (KEY=VALUE, export, quotes, comments); a line\n"
                  "that does not parse stores nothing. Only names are printed.",
          .exits = { CLI_EXITS_DAEMON } },
        { "run", NULL, "[--plugin P]... [--secret P/NAME]... [--map [P/]NAME=VAR]... -- COMMAND [ARG]...",
          "run COMMAND with secrets in its environment", 1, SIZE_MAX, CLI_OPT_PLUGIN | CLI_OPT_SECRET | CLI_OPT_MAP,
          cmd_run,
          .help = "Each secret becomes a variable named after it (or as --map says); COMMAND replaces\n"
                  "credvault, so its exit status is the command's. Values never printed. See\n"
                  "docs/plugins.md, \"Moving off env files\", for what the environment exposes.",
          .exits = { CLI_EXITS_DAEMON, CLI_EXIT_NOT_FOUND, CLI_EXIT_CANNOT_EXECUTE, CLI_EXIT_COMMAND_NOT_FOUND } },
};
const size_t cli_n_commands = ELEMENTSOF(cli_commands);