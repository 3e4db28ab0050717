/* cmd-secret.c — credvault secret put|get|generate|verify|ls|rm (rotate,
 * promote and history are cmd-stage.c's).
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
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "secret-buf.h"

int cli_value_put(Cli *cli, CliValuePut put_call, const char *what, bool allow_empty, const char *plugin,
                  const char *key_field, const char *key_value) {
        _cleanup_(cli_buf_freep) CliBuf *value = NULL;
        int64_t version = 0;
        CvClient *c;
        int r;

        /* Read and check all of it before connecting: nothing is sent for
         * a value over the limit. */
        r = cli_stdin_read_value(cli, what, true, &value);
        if (r < 0)
                return r;
        if (value->size == 0 && !allow_empty)
                return cli_error(-EINVAL, "%s on stdin is empty; nothing stored", what);
        r = cli_connect(cli, &c);
        if (r < 0)
                return r;
        r = put_call(c, plugin, key_value, value->data, value->size, &version);
        if (r < 0)
                return cli_error_call(c, r);
        return cli_version_print(cli, plugin, key_field, key_value, version);
}

int cmd_secret_put(Cli *cli, char **args) {
        return cli_value_put(cli, cv_secret_put, "the value", true, args[0], "name", args[1]);
}

static int secret_print_json(const char *plugin, const char *name, CvSecretStage stage, const CvSecret *s) {
        _cleanup_(secret_buf_freep) SecretBuf *b64 = NULL;

        int r = secret_buf_to_base64(s->value, s->value_size, &b64);
        if (r < 0)
                return cli_error(r, "out of memory");
        return cli_print_json(json_pack("{s:s s:s s:I s:I s:I s:s s:s%}", "plugin", plugin, "name", name, "version",
                                        (json_int_t) s->version, "created", (json_int_t) s->created, "updated",
                                        (json_int_t) s->updated, "stage", cv_secret_stage_name(stage), "value_base64",
                                        (const char *) b64->data, b64->size));
}

int cmd_secret_get(Cli *cli, char **args) {
        _cleanup_(cli_secret_freep) CvSecret *s = NULL;
        CvClient *c;
        int r;

        r = cli_connect(cli, &c);
        if (r < 0)
                return r;
        r = cv_secret_get_stage(c, args[0], args[1], cli->stage, &s);
        if (r < 0)
                return cli_error_call(c, r);

        if (cli->json)
                return secret_print_json(args[0], args[1], cli->stage, s);
        /* The bytes as stored; a newline only for a person reading them,
         * so that the shell's prompt does not run into the value. */
        return cli_write_value(cli, s->value, s->value_size, CLI_NEWLINE_AUTO);
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
        /* Text, a line as it has always been printed, unless --newline. */
        return cli_write_value(cli, s->value, s->value_size, CLI_NEWLINE_ALWAYS);
}

int cmd_secret_verify(Cli *cli, char **args) {
        _cleanup_(cli_buf_freep) CliBuf *in = NULL;
        CvSecretStage stage = CV_SECRET_STAGE_CURRENT;
        int64_t version = 0;
        CvClient *c;
        int r;

        /* --raw: the bare value, byte-exact; else a header, which is text. */
        if (cli_has(cli, CLI_OPT_RAW))
                r = cli_stdin_read_value(cli, "the value", false, &in);
        else
                r = cli_stdin_read_text("the Authorization header", CLI_AUTHORIZATION_SIZE_MAX, true, &in);
        if (r < 0)
                return r;
        r = cli_connect(cli, &c);
        if (r < 0)
                return r;
        if (cli_has(cli, CLI_OPT_RAW))
                r = cv_secret_verify_stage(c, args[0], args[1], NULL, in->data, in->size, &version, &stage);
        else
                r = cv_secret_verify_stage(c, args[0], args[1], (const char *) in->data, NULL, 0, &version, &stage);
        if (r < 0)
                return cli_error_call(c, r);
        /* A match of the previous version (in its grace) says so: the
         * caller still uses a value that is on its way out. */
        if (r > 0 && stage == CV_SECRET_STAGE_PREVIOUS) {
                if (cli->json)
                        return cli_print_json(json_pack("{s:b s:I s:s}", "match", true, "version", (json_int_t) version,
                                                        "stage", "previous"));
                printf("match version %" PRId64 " (previous)\n", version);
                return 0;
        }
        return cli_match_print(cli, r > 0, version);
}

/* The columns of `secret ls`. */
static const CliRecordFormat secret_infos_format = {
        sizeof(CvSecretInfo),
        {
                { "plugin", "PLUGIN", CLI_FIELD_STRING, offsetof(CvSecretInfo, plugin) },
                { "name", "NAME", CLI_FIELD_STRING, offsetof(CvSecretInfo, name) },
                { "version", "VERSION", CLI_FIELD_INT, offsetof(CvSecretInfo, version) },
                { "created", NULL, CLI_FIELD_TIME, offsetof(CvSecretInfo, created) },
                { "updated", "UPDATED", CLI_FIELD_TIME, offsetof(CvSecretInfo, updated) },
        },
};

int cli_secret_infos_ls(Cli *cli, CliSecretInfoList list_call, const char *plugin, const CliRecordFormat *format) {
        CvSecretInfo *items = NULL;
        CvClient *c;
        int r;

        r = cli_connect(cli, &c);
        if (r < 0)
                return r;
        r = list_call(c, plugin, &items);
        if (r < 0)
                return cli_error_call(c, r);
        size_t n_items = (size_t) r;

        r = cli_records_print(cli, format, items, n_items);
        cv_secret_info_free(items, n_items);
        return r;
}

int cmd_secret_ls(Cli *cli, char **args) {
        return cli_secret_infos_ls(cli, cv_secret_list, args[0], &secret_infos_format);
}

int cmd_secret_rm(Cli *cli, char **args) {
        return cli_delete_record(cli, cv_secret_delete, args[0], args[1]);
}
