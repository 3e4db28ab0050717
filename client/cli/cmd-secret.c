/* cmd-secret.c — credvault secret put|get|generate|verify|ls|rm.
 *
 * Owns: moving a secret value between stdin/stdout and libcredvault,
 * byte-exact; generating one; checking a presented one against it; and
 * printing secret metadata.
 * Never: take a value from argv, add or strip a byte of a value (a
 * presented Authorization header loses only its final newline), print a
 * value anywhere but the stdout of `secret get` and `secret generate`, or
 * keep a value in memory that is not wiped on release. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cmd_secret_put(Cli *cli, char **args) {
        _cleanup_(cli_buf_freep) CliBuf *value = NULL;
        int64_t version = 0;
        CvClient *c;
        int r;

        /* Read and check all of it before connecting: nothing is sent for
         * a value over the limit. */
        r = cli_stdin_read(CV_SECRET_VALUE_SIZE_MAX, &value);
        if (r == -EMSGSIZE)
                return cli_error(r, "the value on stdin is over %d bytes; nothing stored", CV_SECRET_VALUE_SIZE_MAX);
        if (r < 0)
                return cli_error(r, "cannot read the value from stdin: %s", strerror(-r));
        r = cli_connect(cli, &c);
        if (r < 0)
                return r;
        r = cv_secret_put(c, args[0], args[1], value->data, value->size, &version);
        if (r < 0)
                return cli_error_call(c, r);

        if (cli->json)
                return cli_print_json(json_pack("{s:s s:s s:I}", "plugin", args[0], "name", args[1], "version",
                                                (json_int_t) version));
        printf("%s/%s version %" PRId64 "\n", args[0], args[1], version);
        return 0;
}

static int secret_print_json(const char *plugin, const char *name, const CvSecret *s) {
        _cleanup_(cli_buf_freep) CliBuf *b64 = NULL;

        int r = cli_base64_encode(s->value, s->value_size, &b64);
        if (r < 0)
                return cli_error(r, "out of memory");
        return cli_print_json(json_pack("{s:s s:s s:I s:I s:I s:s%}", "plugin", plugin, "name", name, "version",
                                        (json_int_t) s->version, "created", (json_int_t) s->created, "updated",
                                        (json_int_t) s->updated, "value_base64", (const char *) b64->data, b64->size));
}

int cmd_secret_get(Cli *cli, char **args) {
        _cleanup_(cli_secret_freep) CvSecret *s = NULL;
        CvClient *c;
        int r;

        r = cli_connect(cli, &c);
        if (r < 0)
                return r;
        r = cv_secret_get(c, args[0], args[1], &s);
        if (r < 0)
                return cli_error_call(c, r);

        if (cli->json)
                return secret_print_json(args[0], args[1], s);
        r = cli_write_secret(s->value, s->value_size);
        if (r < 0)
                return cli_error(r, "cannot write to stdout: %s", strerror(-r));
        return 0;
}

int cmd_secret_generate(Cli *cli, char **args) {
        _cleanup_(cli_secret_freep) CvSecret *s = NULL;
        CvClient *c;
        int r;

        r = cli_connect(cli, &c);
        if (r < 0)
                return r;
        r = cv_secret_generate(c, args[0], args[1], cli->bytes, &s);
        if (r < 0)
                return cli_error_call(c, r);

        /* The value is base64url text: a string in JSON as it is. */
        if (cli->json)
                return cli_print_json(json_pack("{s:s s:s s:I s:s%}", "plugin", args[0], "name", args[1], "version",
                                                (json_int_t) s->version, "value", (const char *) s->value,
                                                s->value_size));
        r = cli_write_secret(s->value, s->value_size);
        if (r >= 0)
                r = cli_write_secret("\n", 1);
        if (r < 0)
                return cli_error(r, "cannot write to stdout: %s", strerror(-r));
        return 0;
}

int cmd_secret_verify(Cli *cli, char **args) {
        _cleanup_(cli_buf_freep) CliBuf *in = NULL;
        int64_t version = 0;
        CvClient *c;
        int r;

        /* --raw: the bare value, byte-exact; else a header, which is text. */
        if (cli_has(cli, CLI_OPT_RAW)) {
                r = cli_stdin_read(CV_SECRET_VALUE_SIZE_MAX, &in);
                if (r == -EMSGSIZE)
                        return cli_error(r, "the value on stdin is over %d bytes", CV_SECRET_VALUE_SIZE_MAX);
                if (r < 0)
                        return cli_error(r, "cannot read the value from stdin: %s", strerror(-r));
        } else {
                r = cli_stdin_read_text("the Authorization header", CLI_AUTHORIZATION_SIZE_MAX, true, &in);
                if (r < 0)
                        return r;
        }
        r = cli_connect(cli, &c);
        if (r < 0)
                return r;
        if (cli_has(cli, CLI_OPT_RAW))
                r = cv_secret_verify_value(c, args[0], args[1], in->data, in->size, &version);
        else
                r = cv_secret_verify(c, args[0], args[1], (const char *) in->data, &version);
        if (r < 0)
                return cli_error_call(c, r);
        return cli_match_print(cli, r > 0, version);
}

static int secrets_print_json(const CvSecretInfo *items, size_t n_items) {
        json_t *array = json_array();

        for (size_t i = 0; array && i < n_items; i++) {
                const CvSecretInfo *e = &items[i];
                if (json_array_append_new(array,
                                          json_pack("{s:s s:s s:I s:I s:I}", "plugin", e->plugin, "name", e->name,
                                                    "version", (json_int_t) e->version, "created",
                                                    (json_int_t) e->created, "updated", (json_int_t) e->updated)) < 0) {
                        json_decref(array);
                        array = NULL;
                }
        }
        return cli_print_json(array);
}

static int secrets_print_table(const CvSecretInfo *items, size_t n_items) {
        _cleanup_(cli_table_freep) CliTable *t = NULL;
        char version[24], updated[CLI_TIME_SIZE];

        int r = cli_table_new(4, (const char *const[]) { "PLUGIN", "NAME", "VERSION", "UPDATED" }, &t);
        for (size_t i = 0; r >= 0 && i < n_items; i++) {
                snprintf(version, sizeof(version), "%" PRId64, items[i].version);
                r = cli_table_add(t, (const char *const[]) { items[i].plugin, items[i].name, version,
                                                             cli_time_format(items[i].updated, updated) });
        }
        if (r >= 0)
                r = cli_table_print(t);
        return r < 0 ? cli_error(r, "cannot print the list: %s", strerror(-r)) : 0;
}

int cmd_secret_ls(Cli *cli, char **args) {
        CvSecretInfo *items = NULL;
        CvClient *c;
        int r;

        r = cli_connect(cli, &c);
        if (r < 0)
                return r;
        r = cv_secret_list(c, args[0], &items);
        if (r < 0)
                return cli_error_call(c, r);
        size_t n_items = (size_t) r;

        r = cli->json ? secrets_print_json(items, n_items) : secrets_print_table(items, n_items);
        cv_secret_info_free(items, n_items);
        return r;
}

int cmd_secret_rm(Cli *cli, char **args) {
        CvClient *c;
        int r;

        r = cli_connect(cli, &c);
        if (r < 0)
                return r;
        r = cv_secret_delete(c, args[0], args[1]);
        if (r < 0)
                return cli_error_call(c, r);
        return 0;
}
