/* cmd-import.c — credvault import PLUGIN FILE|- [--dry-run]: an env file's
 * NAME=VALUE lines into a plugin's secrets.
 *
 * Owns: reading the file (dotenv.c's syntax), refusing all of it for one
 * bad line, name or value before anything is sent, telling new secrets
 * from replaced ones, storing them in the file's order and saying which
 * were stored if the daemon refuses one part-way.
 * Never: print a value (names only), quote a byte of the file in an error
 * (a broken line may be a value), or keep a value outside a wiping buffer
 * (CliBuf for the file, SecretBuf for each value). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dotenv.h"

_Static_assert(DOTENV_NAME_SIZE_MAX == CV_NAME_SIZE_MAX, "an env file's names are secret names");

static int names_compare(const void *a, const void *b) {
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* Which of env's names the plugin has already: ret_replaced[i] for
 * entry i. */
static int existing_find(CvClient *c, const char *plugin, const Dotenv *env, bool *ret_replaced) {
        _cleanup_(freep) const char **names = NULL;
        CvSecretInfo *items = NULL;

        int r = cv_secret_list(c, plugin, &items);
        if (r < 0)
                return cli_error_call(c, r);
        size_t n_items = (size_t) r;
        names = calloc(n_items ?: 1, sizeof(char *));
        if (!names) {
                cv_secret_info_free(items, n_items);
                return cli_error(-ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < n_items; i++)
                names[i] = items[i].name;
        qsort(names, n_items, sizeof(char *), names_compare);
        for (size_t i = 0; i < env->n_entries; i++)
                ret_replaced[i] = bsearch(&env->entries[i].name, names, n_items, sizeof(char *), names_compare) != NULL;
        cv_secret_info_free(items, n_items);
        return 0;
}

/* Parse all of the file and check every value, so that a bad line stores
 * nothing. */
static int env_file_load(const char *path, const char *label, Dotenv **ret) {
        _cleanup_(cli_buf_freep) CliBuf *text = NULL;
        _cleanup_(dotenv_freep) Dotenv *env = NULL;
        DotenvError e = {};
        int r;

        r = cli_file_read(path, CLI_ENV_FILE_SIZE_MAX, &text);
        if (r == -EMSGSIZE)
                return cli_error(r, "%s is over %d bytes; nothing stored", label, CLI_ENV_FILE_SIZE_MAX);
        if (r == -ENOMEM)
                return cli_error(r, "out of memory");
        /* A file that cannot be read is bad input, as for plugin add. */
        if (r < 0)
                return cli_error(-EINVAL, "cannot read %s: %s", label, strerror(-r));
        r = dotenv_parse((const char *) text->data, text->size, &env, &e);
        if (r == -EBADMSG)
                return cli_error(-EINVAL, "%s:%u: %s; nothing stored", label, e.line, e.message);
        if (r < 0)
                return cli_error(r, "out of memory");
        if (env->n_entries == 0)
                return cli_error(-EINVAL, "%s has no NAME=VALUE line; nothing stored", label);
        for (size_t i = 0; i < env->n_entries; i++)
                if (env->entries[i].value->size > CV_SECRET_VALUE_SIZE_MAX)
                        return cli_error(-EMSGSIZE, "%s:%u: the value of %s is over %d bytes; nothing stored", label,
                                         env->entries[i].line, env->entries[i].name, CV_SECRET_VALUE_SIZE_MAX);
        *ret = TAKE_PTR(env);
        return 0;
}

static const char *status_name(bool replaced) {
        return replaced ? "replaced" : "new";
}

int cmd_import(Cli *cli, char **args) {
        const char *plugin = args[0], *path = args[1];
        const char *label = strcmp(path, "-") == 0 ? "stdin" : path;
        bool dry_run = cli_has(cli, CLI_OPT_DRY_RUN);
        _cleanup_(dotenv_freep) Dotenv *env = NULL;
        _cleanup_(freep) bool *replaced = NULL;
        _cleanup_(cli_json_decrefp) json_t *secrets = NULL;
        CvClient *c;
        int r;

        r = env_file_load(path, label, &env);
        if (r < 0)
                return r;
        replaced = calloc(env->n_entries, sizeof(bool));
        if (!replaced || (cli->json && !(secrets = json_array())))
                return cli_error(-ENOMEM, "out of memory");

        /* A dry run asks too: whether the daemon is there, lets us list
         * the plugin, and which names are new. */
        r = cli_connect(cli, &c);
        if (r < 0)
                return r;
        r = existing_find(c, plugin, env, replaced);
        if (r < 0)
                return r;

        for (size_t i = 0; i < env->n_entries; i++) {
                const DotenvEntry *e = &env->entries[i];
                int64_t version = -1;

                if (!dry_run) {
                        r = cv_secret_put(c, plugin, e->name, e->value->data, e->value->size, &version);
                        if (r < 0) {
                                cli_error_call(c, r);
                                cli_error(r, "%s:%u: %s/%s not stored; %zu of %zu stored before it, the rest not",
                                          label, e->line, plugin, e->name, i, env->n_entries);
                                return r;
                        }
                }
                if (cli->json) {
                        json_t *o = json_pack("{s:s s:I s:s s:o}", "name", e->name, "line", (json_int_t) e->line,
                                              "status", status_name(replaced[i]), "version",
                                              version < 0 ? json_null() : json_integer(version));
                        if (!o || json_array_append_new(secrets, o) < 0)
                                return cli_error(-ENOMEM, "out of memory");
                } else
                        printf("%s %s/%s (%s)\n", dry_run ? "would import" : "imported", plugin, e->name,
                               status_name(replaced[i]));
        }
        if (cli->json)
                return cli_print_json(
                        json_pack("{s:s s:b s:O}", "plugin", plugin, "dry_run", dry_run, "secrets", secrets));
        return 0;
}
