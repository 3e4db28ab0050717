/* cmd-stage.c — credvault secret rotate|promote|history: rotation with
 * overlap.
 *
 * Owns: staging a new value (from stdin, byte-exact, or generated),
 * promoting it, and printing a secret's versions with their stages and
 * deadlines.
 * Never: take a value from argv, print a value but the one `secret rotate
 * --generate` made (on stdout, once), or print a value of history (the
 * daemon sends none). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cmd_secret_rotate(Cli *cli, char **args) {
        _cleanup_(cli_buf_freep) CliBuf *value = NULL;
        _cleanup_(cli_secret_freep) CvSecret *generated = NULL;
        bool generate = cli_has(cli, CLI_OPT_GENERATE);
        int64_t version = 0;
        CvClient *c;
        int r;

        /* Read and check all of it before connecting, as `secret put`. */
        if (!generate) {
                r = cli_stdin_read_value(cli, "the value", true, &value);
                if (r < 0)
                        return r;
        }
        r = cli_connect(cli, &c);
        if (r < 0)
                return r;
        if (generate)
                r = cv_secret_rotate(c, args[0], args[1], NULL, 0, cli->generate_bytes, cli->grace_sec, &version,
                                     &generated);
        else
                r = cv_secret_rotate(c, args[0], args[1], value->data, value->size, 0, cli->grace_sec, &version, NULL);
        if (r < 0)
                return cli_error_call(c, r);

        if (cli->json) {
                json_t *j = json_pack("{s:s s:s s:I s:s}", "plugin", args[0], "name", args[1], "version",
                                      (json_int_t) version, "stage", "pending");
                if (j && generated &&
                    json_object_set_new(j, "value",
                                        json_stringn((const char *) generated->value, generated->value_size)) < 0) {
                        json_decref(j);
                        j = NULL;
                }
                return cli_print_json(j);
        }
        /* A generated value is the output, alone on stdout, as `secret
         * generate` prints it; what was done goes to stderr. */
        if (generated) {
                r = cli_write_value(cli, generated->value, generated->value_size, CLI_NEWLINE_ALWAYS);
                if (r < 0)
                        return r;
                fprintf(stderr, "%s/%s version %" PRId64 " staged as pending\n", args[0], args[1], version);
                return 0;
        }
        printf("%s/%s version %" PRId64 " staged as pending\n", args[0], args[1], version);
        return 0;
}

int cmd_secret_promote(Cli *cli, char **args) {
        CvSecretPromoted p;
        char when[CLI_TIME_SIZE];
        CvClient *c;

        int r = cli_connect(cli, &c);
        if (r < 0)
                return r;
        r = cv_secret_promote(c, args[0], args[1], cli->grace_sec, &p);
        if (r < 0)
                return cli_error_call(c, r);
        if (cli->json)
                return cli_print_json(json_pack(
                        "{s:s s:s s:I s:o s:o}", "plugin", args[0], "name", args[1], "version", (json_int_t) p.version,
                        "previous_version", p.previous_version ? json_integer(p.previous_version) : json_null(),
                        "previous_deadline", p.previous_deadline ? json_integer(p.previous_deadline) : json_null()));
        if (p.previous_version > 0)
                printf("%s/%s version %" PRId64 " is current; version %" PRId64 " stays valid until %s\n", args[0],
                       args[1], p.version, p.previous_version, cli_time_format(p.previous_deadline, when));
        else
                printf("%s/%s version %" PRId64 " is current (there was no version before it)\n", args[0], args[1],
                       p.version);
        return 0;
}

int cmd_secret_history(Cli *cli, char **args) {
        static const char *const header[] = { "VERSION", "STAGE", "CREATED", "VALID UNTIL / GRACE" };
        _cleanup_(freep) char *text = NULL;
        _cleanup_(cli_table_freep) CliTable *t = NULL;
        json_t *item;
        size_t i;
        CvClient *c;

        int r = cli_connect(cli, &c);
        if (r < 0)
                return r;
        r = cv_secret_history_json(c, args[0], args[1], &text);
        if (r < 0)
                return cli_error_call(c, r);
        json_t *j = json_loads(text, 0, NULL);
        if (!j)
                return cli_error(-ENOMEM, "out of memory");
        if (cli->json) {
                json_object_set_new(j, "plugin", json_string(args[0]));
                json_object_set_new(j, "name", json_string(args[1]));
                return cli_print_json(j);
        }
        r = cli_table_new(ELEMENTSOF(header), header, &t);
        json_array_foreach(json_object_get(j, "versions"), i, item) {
                char version[32], created[CLI_TIME_SIZE], last[CLI_TIME_SIZE + CLI_DURATION_SIZE];
                const char *stage = json_string_value(json_object_get(item, "stage"));
                if (r < 0)
                        break;
                snprintf(version, sizeof(version), "%" PRId64,
                         (int64_t) json_integer_value(json_object_get(item, "version")));
                cli_time_format(json_integer_value(json_object_get(item, "created")), created);
                if (strcmp(stage, "previous") == 0)
                        cli_time_format(json_integer_value(json_object_get(item, "deadline")), last);
                else if (strcmp(stage, "pending") == 0) {
                        char d[CLI_DURATION_SIZE];
                        int64_t grace = json_integer_value(json_object_get(item, "grace"));
                        snprintf(last, sizeof(last), "grace %s", grace > 0 ? cli_duration_format(grace, d) : "0");
                } else
                        snprintf(last, sizeof(last), "-");
                r = cli_table_add(t, (const char *const[]) { version, stage, created, last });
        }
        json_decref(j);
        if (r < 0)
                return cli_error(r, "out of memory");
        return cli_table_print(t);
}
