/* cmd-run.c — credvault run [--plugin P]... [--secret P/NAME]...
 * [--map [P/]NAME=VAR]... -- COMMAND [ARG]...: a command with secrets in
 * its environment, for a service that reads them from there and cannot
 * change yet.
 *
 * Owns: choosing the secrets (all of a plugin's, or one by name), naming
 * each as an environment variable (its own name, or the one --map gives),
 * refusing a name that is not a variable name and two secrets for one
 * variable (before any value is fetched), and replacing this process by
 * COMMAND, so that its exit status is COMMAND's.
 * Never: print a value, or copy one anywhere but the wiping buffers the
 * new environment is built from: not setenv(), whose copies libc never
 * wipes if the exec fails. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "secret-buf.h"

typedef struct RunSecret {
        char *plugin, *name;
        const char *var;       /* name, or a --map's VAR */
        SecretBuf *assignment; /* "VAR=value": the environment entry */
} RunSecret;

typedef struct RunMap {
        const char *arg; /* as given, for messages */
        char *plugin;    /* NULL: NAME in any chosen plugin */
        char *name;
        const char *var; /* into arg */
        bool used;
} RunMap;

typedef struct Run {
        RunSecret *secrets;
        size_t n_secrets;
        RunMap *maps;
        size_t n_maps;
        char **envp;
} Run;

static void run_done(Run *run) {
        for (size_t i = 0; i < run->n_secrets; i++) {
                free(run->secrets[i].plugin);
                free(run->secrets[i].name);
                secret_buf_free(run->secrets[i].assignment);
        }
        free(run->secrets);
        for (size_t i = 0; i < run->n_maps; i++) {
                free(run->maps[i].plugin);
                free(run->maps[i].name);
        }
        free(run->maps);
        free(run->envp);
}

/* What a POSIX shell takes as a variable name; anything else could not be
 * read back by the command as $NAME. */
static bool env_name_valid(const char *s) {
        if (!(*s == '_' || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')))
                return false;
        for (s++; *s; s++)
                if (!(*s == '_' || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')))
                        return false;
        return true;
}

static bool same(const char *a, const char *b) {
        return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* "P/NAME" into its parts: '/' is in no plugin or secret name. */
static int plugin_name_split(const char *s, size_t n, char **ret_plugin, char **ret_name) {
        const char *slash = memchr(s, '/', n);
        if (!slash || slash == s || slash + 1 == s + n)
                return -EINVAL;
        _cleanup_(freep) char *plugin = strndup(s, (size_t) (slash - s));
        char *name = strndup(slash + 1, n - (size_t) (slash + 1 - s));
        if (!plugin || !name) {
                free(name);
                return -ENOMEM;
        }
        *ret_plugin = TAKE_PTR(plugin);
        *ret_name = name;
        return 0;
}

static int maps_parse(const CliList *l, Run *run) {
        run->maps = calloc(l->n_items ?: 1, sizeof(RunMap));
        if (!run->maps)
                return cli_error(-ENOMEM, "out of memory");
        for (size_t i = 0; i < l->n_items; i++) {
                const char *arg = l->items[i], *eq = strchr(arg, '=');
                RunMap *m = &run->maps[run->n_maps];
                int r = 0;

                if (!eq || eq == arg || !eq[1])
                        return cli_error(-EINVAL, "--map '%s': not NAME=VAR or PLUGIN/NAME=VAR", arg);
                if (!env_name_valid(eq + 1))
                        return cli_error(-EINVAL,
                                         "--map '%s': '%s' is not a variable name (letters, digits and _, "
                                         "not a digit first)",
                                         arg, eq + 1);
                m->arg = arg;
                m->var = eq + 1;
                if (memchr(arg, '/', (size_t) (eq - arg)))
                        r = plugin_name_split(arg, (size_t) (eq - arg), &m->plugin, &m->name);
                else if (!(m->name = strndup(arg, (size_t) (eq - arg))))
                        r = -ENOMEM;
                run->n_maps++;
                if (r == -EINVAL)
                        return cli_error(r, "--map '%s': not NAME=VAR or PLUGIN/NAME=VAR", arg);
                if (r < 0)
                        return cli_error(r, "out of memory");
                for (size_t j = 0; j < run->n_maps - 1; j++)
                        if (same(run->maps[j].plugin, m->plugin) && strcmp(run->maps[j].name, m->name) == 0)
                                return cli_error(-EINVAL, "--map '%s' and --map '%s' rename the same secret",
                                                 run->maps[j].arg, arg);
        }
        return 0;
}

/* Add plugin/name (taking both) unless it is chosen already. */
static int secret_add(Run *run, char *plugin, char *name) {
        for (size_t i = 0; i < run->n_secrets; i++)
                if (strcmp(run->secrets[i].plugin, plugin) == 0 && strcmp(run->secrets[i].name, name) == 0) {
                        free(plugin);
                        free(name);
                        return 0;
                }
        RunSecret *s = realloc(run->secrets, (run->n_secrets + 1) * sizeof(RunSecret));
        if (!s) {
                free(plugin);
                free(name);
                return -ENOMEM;
        }
        run->secrets = s;
        run->secrets[run->n_secrets++] = (RunSecret) { .plugin = plugin, .name = name };
        return 0;
}

/* Every secret of each --plugin (their names, never a value), then each
 * --secret. A --plugin with no secret is a mistake worth stopping for. */
static int secrets_choose(Cli *cli, CvClient *c, Run *run) {
        for (size_t i = 0; i < cli->plugins.n_items; i++) {
                const char *plugin = cli->plugins.items[i];
                CvSecretInfo *items = NULL;
                int r = cv_secret_list(c, plugin, &items);
                if (r < 0)
                        return cli_error_call(c, r);
                size_t n_items = (size_t) r;
                for (size_t j = 0; r >= 0 && j < n_items; j++) {
                        char *p = strdup(plugin), *n = strdup(items[j].name);
                        if (p && n)
                                r = secret_add(run, p, n);
                        else {
                                free(p);
                                free(n);
                                r = -ENOMEM;
                        }
                }
                cv_secret_info_free(items, n_items);
                if (r < 0)
                        return cli_error(r, "out of memory");
                if (n_items == 0) {
                        cli_error(-ENOENT, "--plugin %s: the plugin has no secrets; nothing run", plugin);
                        return CLI_EXIT_NOT_FOUND;
                }
        }
        for (size_t i = 0; i < cli->secrets.n_items; i++) {
                char *plugin = NULL, *name = NULL;
                const char *arg = cli->secrets.items[i];
                int r = plugin_name_split(arg, strlen(arg), &plugin, &name);
                if (r == -EINVAL)
                        return cli_error(r, "--secret '%s': not PLUGIN/NAME", arg);
                if (r >= 0)
                        r = secret_add(run, plugin, name);
                if (r < 0)
                        return cli_error(r, "out of memory");
        }
        return 0;
}

/* Each secret's variable: its --map PLUGIN/NAME=VAR, else its --map
 * NAME=VAR, else its name. All refused (nothing fetched) for a name that
 * is not a variable name, two secrets for one variable, or a --map that
 * renames nothing chosen. */
static int vars_assign(Run *run) {
        for (size_t i = 0; i < run->n_secrets; i++) {
                RunSecret *s = &run->secrets[i];
                RunMap *chosen = NULL;
                for (size_t j = 0; j < run->n_maps; j++) {
                        RunMap *m = &run->maps[j];
                        if (strcmp(m->name, s->name) != 0 || (m->plugin && strcmp(m->plugin, s->plugin) != 0))
                                continue;
                        /* Named a chosen secret, even where a PLUGIN/NAME
                         * map (which wins) renames it. */
                        m->used = true;
                        if (!chosen || m->plugin)
                                chosen = m;
                }
                s->var = chosen ? chosen->var : s->name;
                if (!env_name_valid(s->var))
                        return cli_error(-EINVAL,
                                         "%s/%s: '%s' is not a variable name; name it with --map %s/%s=VAR; "
                                         "nothing run",
                                         s->plugin, s->name, s->name, s->plugin, s->name);
                for (size_t j = 0; j < i; j++)
                        if (strcmp(run->secrets[j].var, s->var) == 0)
                                return cli_error(-EINVAL,
                                                 "%s/%s and %s/%s would both be $%s; rename one with "
                                                 "--map PLUGIN/NAME=VAR; nothing run",
                                                 run->secrets[j].plugin, run->secrets[j].name, s->plugin, s->name,
                                                 s->var);
        }
        for (size_t j = 0; j < run->n_maps; j++)
                if (!run->maps[j].used)
                        return cli_error(-EINVAL, "--map '%s': no chosen secret is named so; nothing run",
                                         run->maps[j].arg);
        return 0;
}

static int values_fetch(CvClient *c, Run *run) {
        for (size_t i = 0; i < run->n_secrets; i++) {
                _cleanup_(cli_secret_freep) CvSecret *v = NULL;
                RunSecret *s = &run->secrets[i];
                size_t var_size = strlen(s->var);

                int r = cv_secret_get(c, s->plugin, s->name, &v);
                if (r < 0)
                        return cli_error_call(c, r);
                /* The environment is C strings: a NUL would cut it short. */
                if (memchr(v->value, '\0', v->value_size))
                        return cli_error(-EINVAL,
                                         "%s/%s holds a NUL byte: it cannot be an environment variable; "
                                         "nothing run",
                                         s->plugin, s->name);
                r = secret_buf_new(var_size + 1 + v->value_size, &s->assignment);
                if (r < 0)
                        return cli_error(r, "out of memory");
                memcpy(s->assignment->data, s->var, var_size);
                s->assignment->data[var_size] = '=';
                memcpy(s->assignment->data + var_size + 1, v->value, v->value_size);
        }
        return 0;
}

/* This process's environment, less the variables the secrets set (the
 * vault's value wins), and the secrets' entries. */
static int environment_build(Run *run) {
        extern char **environ;
        size_t n_env = 0, n = 0;

        while (environ[n_env])
                n_env++;
        run->envp = calloc(n_env + run->n_secrets + 1, sizeof(char *));
        if (!run->envp)
                return cli_error(-ENOMEM, "out of memory");
        for (size_t i = 0; i < n_env; i++) {
                const char *eq = strchr(environ[i], '=');
                size_t name_size = eq ? (size_t) (eq - environ[i]) : strlen(environ[i]);
                bool replaced = false;
                for (size_t j = 0; !replaced && j < run->n_secrets; j++)
                        replaced = strlen(run->secrets[j].var) == name_size &&
                                   memcmp(run->secrets[j].var, environ[i], name_size) == 0;
                if (!replaced)
                        run->envp[n++] = environ[i];
        }
        for (size_t j = 0; j < run->n_secrets; j++)
                run->envp[n++] = (char *) run->secrets[j].assignment->data;
        return 0;
}

int cmd_run(Cli *cli, char **args) {
        _cleanup_(run_done) Run run = {};
        CvClient *c;
        int r;

        /* The command's own options are its own: only after "--" is it
         * sure none of them was taken for one of ours. */
        if (!cli->after_dashdash || args[0] != cli->after_dashdash)
                return cli_error(-EINVAL, "run: put the command after '--': credvault run --plugin P -- COMMAND");
        if (cli->plugins.n_items == 0 && cli->secrets.n_items == 0)
                return cli_error(-EINVAL, "run: choose secrets with --plugin P or --secret P/NAME");
        r = maps_parse(&cli->maps, &run);
        if (r < 0)
                return r;

        r = cli_connect(cli, &c);
        if (r < 0)
                return r;
        r = secrets_choose(cli, c, &run);
        if (r != 0)
                return r;
        r = vars_assign(&run);
        if (r < 0)
                return r;
        r = values_fetch(c, &run);
        if (r < 0)
                return r;
        r = environment_build(&run);
        if (r < 0)
                return r;

        /* Nothing of ours for the command: not the daemon connection,
         * not a line of output still buffered. */
        cv_client_free(cli->client);
        cli->client = NULL;
        fflush(stdout);
        execvpe(args[0], args, run.envp);

        r = -errno;
        if (r == -ENOENT) {
                cli_error(r, "%s: command not found", args[0]);
                return CLI_EXIT_COMMAND_NOT_FOUND;
        }
        cli_error(r, "cannot run %s: %s", args[0], strerror(-r));
        return CLI_EXIT_CANNOT_EXECUTE;
}
