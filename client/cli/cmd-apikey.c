/* cmd-apikey.c — credvault apikey put|lookup|ls|rm: the per-user API keys
 * of a user_http plugin.
 *
 * Owns: moving a key from stdin to libcredvault byte-exact, asking whose a
 * presented key is, and printing which users have one.
 * Never: take a key from argv, print a key (lookup prints the user id
 * only), or keep one in memory that is not wiped on release. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cmd_apikey_put(Cli *cli, char **args) {
        _cleanup_(cli_buf_freep) CliBuf *key = NULL;
        int64_t version = 0;
        CvClient *c;
        int r;

        r = cli_stdin_read(CV_SECRET_VALUE_SIZE_MAX, &key);
        if (r == -EMSGSIZE)
                return cli_error(r, "the key on stdin is over %d bytes; nothing stored", CV_SECRET_VALUE_SIZE_MAX);
        if (r < 0)
                return cli_error(r, "cannot read the key from stdin: %s", strerror(-r));
        if (key->size == 0)
                return cli_error(-EINVAL, "the key on stdin is empty; nothing stored");
        r = cli_connect(cli, &c);
        if (r < 0)
                return r;
        r = cv_apikey_put(c, args[0], args[1], key->data, key->size, &version);
        if (r < 0)
                return cli_error_call(c, r);

        if (cli->json)
                return cli_print_json(json_pack("{s:s s:s s:I}", "plugin", args[0], "user", args[1], "version",
                                                (json_int_t) version));
        printf("%s/%s version %" PRId64 "\n", args[0], args[1], version);
        return 0;
}

int cmd_apikey_lookup(Cli *cli, char **args) {
        _cleanup_(cli_buf_freep) CliBuf *in = NULL;
        _cleanup_(freep) char *user = NULL;
        bool header = cli_has(cli, CLI_OPT_HEADER);
        CvClient *c;
        int r;

        if (header)
                r = cli_stdin_read_text("the Authorization header", CLI_AUTHORIZATION_SIZE_MAX, true, &in);
        else {
                r = cli_stdin_read(CV_SECRET_VALUE_SIZE_MAX, &in);
                if (r == -EMSGSIZE)
                        r = cli_error(r, "the key on stdin is over %d bytes", CV_SECRET_VALUE_SIZE_MAX);
                else if (r < 0)
                        r = cli_error(r, "cannot read the key from stdin: %s", strerror(-r));
        }
        if (r < 0)
                return r;
        r = cli_connect(cli, &c);
        if (r < 0)
                return r;
        r = header ? cv_apikey_lookup_header(c, args[0], (const char *) in->data, &user)
                   : cv_apikey_lookup(c, args[0], in->data, in->size, &user);
        if (r < 0)
                return cli_error_call(c, r);

        /* No match leaves stdout empty: a script that reads the user id
         * without checking the status must not get a word for one. */
        if (cli->json) {
                r = cli_print_json(
                        json_pack("{s:b s:o}", "match", user != NULL, "user", user ? json_string(user) : json_null()));
                if (r < 0)
                        return r;
        } else if (user)
                printf("%s\n", user);
        else
                cli_error(0, "no match: the key is not one of plugin '%s'", args[0]);
        return user ? 0 : CLI_EXIT_NO_MATCH;
}

static int apikeys_print_json(const CvSecretInfo *items, size_t n_items) {
        json_t *array = json_array();

        for (size_t i = 0; array && i < n_items; i++) {
                const CvSecretInfo *e = &items[i];
                if (json_array_append_new(array, json_pack("{s:s s:I s:I s:I}", "user", e->name, "version",
                                                           (json_int_t) e->version, "created", (json_int_t) e->created,
                                                           "updated", (json_int_t) e->updated)) < 0) {
                        json_decref(array);
                        array = NULL;
                }
        }
        return cli_print_json(array);
}

static int apikeys_print_table(const CvSecretInfo *items, size_t n_items) {
        _cleanup_(cli_table_freep) CliTable *t = NULL;
        char version[24], updated[CLI_TIME_SIZE];

        int r = cli_table_new(3, (const char *const[]) { "USER", "VERSION", "UPDATED" }, &t);
        for (size_t i = 0; r >= 0 && i < n_items; i++) {
                snprintf(version, sizeof(version), "%" PRId64, items[i].version);
                r = cli_table_add(t, (const char *const[]) { items[i].name, version,
                                                             cli_time_format(items[i].updated, updated) });
        }
        if (r >= 0)
                r = cli_table_print(t);
        return r < 0 ? cli_error(r, "cannot print the list: %s", strerror(-r)) : 0;
}

int cmd_apikey_ls(Cli *cli, char **args) {
        CvSecretInfo *items = NULL;
        CvClient *c;
        int r;

        r = cli_connect(cli, &c);
        if (r < 0)
                return r;
        r = cv_apikey_list(c, args[0], &items);
        if (r < 0)
                return cli_error_call(c, r);
        size_t n_items = (size_t) r;

        r = cli->json ? apikeys_print_json(items, n_items) : apikeys_print_table(items, n_items);
        cv_secret_info_free(items, n_items);
        return r;
}

int cmd_apikey_rm(Cli *cli, char **args) {
        CvClient *c;
        int r;

        r = cli_connect(cli, &c);
        if (r < 0)
                return r;
        r = cv_apikey_delete(c, args[0], args[1]);
        if (r < 0)
                return cli_error_call(c, r);
        return 0;
}
