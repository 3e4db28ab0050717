/* cmd-apikey.c — credvault apikey put|lookup|ls|rm: the per-user API keys
 * of a user_http plugin.
 *
 * Owns: moving a key from stdin to libcredvault byte-exact, asking whose a
 * presented key is, and printing which users have one; storing and
 * listing go through cmd-secret.c's helpers, as keys are kept the way
 * secrets are.
 * Never: take a key from argv, print a key (lookup prints the user id
 * only), or keep one in memory that is not wiped on release. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

int cmd_apikey_put(Cli *cli, char **args) {
        return cli_value_put(cli, cv_apikey_put, "the key", false, args[0], "user", args[1]);
}

int cmd_apikey_lookup(Cli *cli, char **args) {
        _cleanup_(cli_buf_freep) CliBuf *in = NULL;
        _cleanup_(freep) char *user = NULL;
        bool header = cli_has(cli, CLI_OPT_HEADER);
        CvClient *c;
        int r;

        if (header)
                r = cli_stdin_read_text("the Authorization header", CLI_AUTHORIZATION_SIZE_MAX, true, &in);
        else
                r = cli_stdin_read_value(cli, "the key", false, &in);
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

/* The columns of `apikey ls`: the records' names are the users. */
static const CliRecordFormat apikey_infos_format = {
        sizeof(CvSecretInfo),
        {
                { "user", "USER", CLI_FIELD_STRING, offsetof(CvSecretInfo, name) },
                { "version", "VERSION", CLI_FIELD_INT, offsetof(CvSecretInfo, version) },
                { "created", NULL, CLI_FIELD_TIME, offsetof(CvSecretInfo, created) },
                { "updated", "UPDATED", CLI_FIELD_TIME, offsetof(CvSecretInfo, updated) },
        },
};

int cmd_apikey_ls(Cli *cli, char **args) {
        return cli_secret_infos_ls(cli, cv_apikey_list, args[0], &apikey_infos_format);
}

int cmd_apikey_rm(Cli *cli, char **args) {
        return cli_delete_record(cli, cv_apikey_delete, args[0], args[1]);
}
