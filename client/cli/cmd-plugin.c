/* cmd-plugin.c — credvault plugin add|ls|show|rm|manifest.
 *
 * Owns: reading a manifest (a whole ai-plugin.json or its auth block) from
 * a file or stdin for the daemon to check and register, and printing what
 * the vault holds for a plugin: its public auth fields, its secrets'
 * names and versions, token and API key counts.
 * Never: print a value. Verification tokens are shown by consumer name
 * only; the one place they are printed is `plugin manifest`'s stdout,
 * which is what a manifest needs. A manifest's content is never quoted in
 * an error, since it holds verification tokens. */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "tty.h"

/* The manifest in FILE ("-": stdin) as a C string, checked to be one JSON
 * object; the daemon checks the rest and names the bad field. */
static int manifest_read(const char *path, CliBuf **ret) {
        _cleanup_(cli_buf_freep) CliBuf *in = NULL;
        _cleanup_(cli_json_decrefp) json_t *j = NULL;
        const char *where = strcmp(path, "-") == 0 ? "stdin" : path;
        json_error_t e;
        int r;

        if (strcmp(path, "-") == 0 && tty_is(STDIN_FILENO))
                fputs("credvault: reading the manifest from the terminal; end it with Ctrl-D\n", stderr);
        r = cli_file_read(path, CLI_MANIFEST_SIZE_MAX, &in);
        if (r == -EMSGSIZE)
                return cli_error(r, "manifest: %s is over %d bytes; nothing registered", where, CLI_MANIFEST_SIZE_MAX);
        if (r == -ENOMEM)
                return cli_error(r, "out of memory");
        /* A file that cannot be read is bad input, not "denied" by the
         * daemon nor "not found" there. */
        if (r < 0)
                return cli_error(-EINVAL, "manifest: cannot read %s: %s", where, strerror(-r));
        j = json_loadb((const char *) in->data, in->size, JSON_REJECT_DUPLICATES, &e);
        if (!j) {
                /* jansson's text ends in "near '<input>'": cut that off, it
                 * may be a piece of a verification token. */
                char *near = strstr(e.text, " near ");
                if (near)
                        *near = '\0';
                return cli_error(-EINVAL, "manifest: invalid JSON in %s (%s) at line %d, column %d", where,
                                 e.text[0] ? e.text : "syntax error", e.line, e.column);
        }
        if (!json_is_object(j))
                return cli_error(-EINVAL, "manifest: %s must hold a JSON object", where);
        r = cli_buf_terminate(in);
        if (r < 0)
                return cli_error(r, "manifest: invalid JSON in %s", where);
        *ret = TAKE_PTR(in);
        return 0;
}

int cmd_plugin_add(Cli *cli, char **args) {
        _cleanup_(cli_buf_freep) CliBuf *manifest = NULL;
        _cleanup_(freep) char *name = NULL;
        CvClient *c;
        int r;

        r = manifest_read(args[0], &manifest);
        if (r < 0)
                return r;
        r = cli_connect(cli, &c);
        if (r < 0)
                return r;
        r = cv_plugin_register(c, (const char *) manifest->data, cli->name, cli->domain, &name);
        if (r < 0)
                return cli_error_call(c, r);

        if (cli->json)
                return cli_print_json(json_pack("{s:s s:i}", "plugin", name, "version", r));
        printf("%s version %d\n", name, r);
        return 0;
}

/* The columns of `plugin ls`. */
static const CliRecordFormat plugin_infos_format = {
        sizeof(CvPluginInfo),
        {
                { "plugin", "NAME", CLI_FIELD_STRING, offsetof(CvPluginInfo, name) },
                { "auth_type", "AUTH", CLI_FIELD_STRING, offsetof(CvPluginInfo, auth_type) },
                { "domain", "DOMAIN", CLI_FIELD_STRING_OR_NONE, offsetof(CvPluginInfo, domain) },
                { "version", "VERSION", CLI_FIELD_INT, offsetof(CvPluginInfo, version) },
                { "created", NULL, CLI_FIELD_TIME, offsetof(CvPluginInfo, created) },
                { "updated", "UPDATED", CLI_FIELD_TIME, offsetof(CvPluginInfo, updated) },
        },
};

int cmd_plugin_ls(Cli *cli, char **args) {
        CvPluginInfo *items = NULL;
        CvClient *c;
        int r;

        r = cli_connect(cli, &c);
        if (r < 0)
                return r;
        r = cv_plugin_list(c, &items);
        if (r < 0)
                return cli_error_call(c, r);
        size_t n_items = (size_t) r;

        /* --names: for shell completion and scripts, no header, no
         * columns to cut. A name is checked by the daemon and holds no
         * space or control character. */
        if (cli_has(cli, CLI_OPT_NAMES) && !cli->json)
                for (size_t i = 0; i < n_items; i++)
                        printf("%s\n", items[i].name);
        else
                r = cli_records_print(cli, &plugin_infos_format, items, n_items);
        cv_plugin_info_free(items, n_items);
        return r < 0 ? r : 0;
}

/* What the vault holds for a plugin (cv_plugin_show_json), parsed. Its
 * verification tokens are nulls from the daemon; they are made nulls here
 * again, so that no version of the daemon can make `show` print one. */
static int plugin_show_get(CvClient *c, const char *name, int64_t expiring_sec, json_t **ret) {
        _cleanup_(freep) char *text = NULL;
        const char *consumer;
        json_t *v;

        int r = cv_plugin_show_json(c, name, expiring_sec, &text);
        if (r < 0)
                return cli_error_call(c, r);
        json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(j)) {
                json_decref(j);
                return cli_error(-EPROTO, "credvaultd sent an invalid plugin description");
        }
        json_t *tokens = json_object_get(json_object_get(j, "auth"), "verification_tokens");
        json_object_foreach(tokens, consumer, v)
                json_object_set_new(tokens, consumer, json_null());
        *ret = j;
        return 0;
}

static int64_t member_int(json_t *j, const char *key) {
        return (int64_t) json_integer_value(json_object_get(j, key));
}

/* Text from a manifest may hold anything; keep control characters (a
 * terminal's escape sequences) off the screen. */
static void print_sanitized(const char *s) {
        for (; *s; s++)
                fputc((unsigned char) *s < 0x20 || *s == 0x7f ? '?' : *s, stdout);
}

static void print_auth_fields(json_t *auth) {
        const char *key, *consumer;
        json_t *v, *ignored;

        printf("auth:\n");
        json_object_foreach(auth, key, v) {
                if (strcmp(key, "type") == 0)
                        continue;
                printf("  %-28s ", key);
                if (strcmp(key, "verification_tokens") == 0) {
                        const char *sep = "";
                        json_object_foreach(v, consumer, ignored) {
                                printf("%s", sep);
                                print_sanitized(consumer);
                                sep = ", ";
                        }
                        printf(" (values not shown)\n");
                } else if (json_is_string(v)) {
                        print_sanitized(json_string_value(v));
                        fputc('\n', stdout);
                } else
                        printf("(%s)\n", json_is_null(v) ? "none" : "not a string");
        }
}

static void print_secrets(json_t *secrets, bool truncated) {
        char updated[CLI_TIME_SIZE];
        size_t i, width = 0;
        json_t *s;

        printf("%-16s%zu%s\n", "secrets:", json_array_size(secrets), truncated ? " (list cut short)" : "");
        json_array_foreach(secrets, i, s) {
                size_t n = strlen(json_string_value(json_object_get(s, "name")) ?: "");
                if (n > width)
                        width = n;
        }
        json_array_foreach(secrets, i, s)
                printf("  %-*s  version %" PRId64 "  updated %s\n", (int) width,
                       json_string_value(json_object_get(s, "name")) ?: "?", member_int(s, "version"),
                       cli_time_format(member_int(s, "updated"), updated));
}

static void plugin_show_print(json_t *j) {
        char created[CLI_TIME_SIZE], updated[CLI_TIME_SIZE], within[CLI_DURATION_SIZE];
        json_t *tokens = json_object_get(j, "tokens");
        bool registered = json_is_true(json_object_get(j, "registered"));

        printf("%-16s%s\n", "plugin:", json_string_value(json_object_get(j, "plugin")) ?: "?");
        printf("%-16s%s\n", "registered:", registered ? "yes" : "no");
        if (registered) {
                printf("%-16s%s\n", "domain:", json_string_value(json_object_get(j, "domain")) ?: "-");
                printf("%-16s%s\n", "auth type:", json_string_value(json_object_get(j, "auth_type")) ?: "?");
                printf("%-16s%" PRId64 "\n", "version:", member_int(j, "version"));
                printf("%-16s%s\n", "created:", cli_time_format(member_int(j, "created"), created));
                printf("%-16s%s\n", "updated:", cli_time_format(member_int(j, "updated"), updated));
                print_auth_fields(json_object_get(j, "auth"));
        }
        print_secrets(json_object_get(j, "secrets"), json_is_true(json_object_get(j, "secrets_truncated")));
        printf("%-16s%" PRId64 " total, %" PRId64 " expiring within %s, %" PRId64 " expired, %" PRId64
               " reauth_required, %" PRId64 " refreshing\n",
               "tokens:", member_int(tokens, "total"), member_int(tokens, "expiring"),
               cli_duration_format(member_int(tokens, "expiring_within"), within), member_int(tokens, "expired"),
               member_int(tokens, "reauth_required"), member_int(tokens, "refreshing"));
        printf("%-16s%" PRId64 "\n", "API keys:", member_int(j, "apikeys"));
}

int cmd_plugin_show(Cli *cli, char **args) {
        json_t *j = NULL;
        CvClient *c;
        int r;

        r = cli_connect(cli, &c);
        if (r < 0)
                return r;
        r = plugin_show_get(c, args[0], cli->expiring_sec, &j);
        if (r < 0)
                return r;
        if (cli->json)
                return cli_print_json(j);
        plugin_show_print(j);
        json_decref(j);
        return 0;
}

static const char *plural(int64_t n, const char *one, const char *many) {
        return n == 1 ? one : many;
}

int cmd_plugin_rm(Cli *cli, char **args) {
        CvClient *c;
        int r;

        r = cli_connect(cli, &c);
        if (r < 0)
                return r;
        if (!cli_has(cli, CLI_OPT_YES)) {
                /* Say what is at stake; an unknown plugin is "not found". */
                _cleanup_(cli_json_decrefp) json_t *j = NULL;
                r = plugin_show_get(c, args[0], CLI_EXPIRING_DEFAULT_SEC, &j);
                if (r < 0)
                        return r;
                int64_t n_secrets = (int64_t) json_array_size(json_object_get(j, "secrets"));
                int64_t n_tokens = member_int(json_object_get(j, "tokens"), "total");
                int64_t n_apikeys = member_int(j, "apikeys");
                return cli_error(-EINVAL,
                                 "plugin rm: this would remove %s'%s', %s%" PRId64 " %s, %" PRId64 " %s and %" PRId64
                                 " %s; add --yes to remove them",
                                 json_is_true(json_object_get(j, "registered")) ? "the registered plugin " : "plugin ",
                                 args[0], json_is_true(json_object_get(j, "secrets_truncated")) ? "more than " : "",
                                 n_secrets, plural(n_secrets, "secret", "secrets"), n_tokens,
                                 plural(n_tokens, "token set", "token sets"), n_apikeys,
                                 plural(n_apikeys, "API key", "API keys"));
        }
        r = cv_plugin_delete(c, args[0]);
        if (r < 0)
                return cli_error_call(c, r);
        return 0;
}

int cmd_plugin_manifest(Cli *cli, char **args) {
        _cleanup_(cli_text_freep) char *auth = NULL;
        CvClient *c;
        int r;

        r = cli_connect(cli, &c);
        if (r < 0)
                return r;
        r = cv_plugin_manifest_auth(c, args[0], &auth);
        if (r < 0)
                return cli_error_call(c, r);
        /* Already one line of compact JSON, with --json or without. */
        r = cli_write_secret_line(auth);
        return r < 0 ? cli_error(r, "cannot write to stdout: %s", strerror(-r)) : 0;
}
