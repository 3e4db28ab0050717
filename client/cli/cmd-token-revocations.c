/* cmd-token-revocations.c — credvault token revocations, and the pending
 * revocations `token ls` prints after the sets.
 *
 * Owns: listing the deleted token sets whose tokens still wait to be
 * revoked at the provider (RFC 7009), through cv_call_json():
 * token.revocation_list is the refresher's op, not the library's.
 * Never: a token; the list holds none. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* The errno of an error reply's code, for the exit status. */
static int reply_errno(const char *code) {
        return !code                              ? -EPROTO
               : strcmp(code, "not_found") == 0   ? -ENOENT
               : strcmp(code, "denied") == 0      ? -EPERM
               : strcmp(code, "bad_request") == 0 ? -EINVAL
                                                  : -EIO;
}

/* Every pending revocation of plugin, all pages, as one JSON array; an
 * error reply is -errno with *ret_message (static or in the reply, valid
 * until the next call) saying why. */
static int revocations_fetch(CvClient *c, const char *plugin, json_t **ret, char *message, size_t message_size) {
        _cleanup_(cli_json_decrefp) json_t *all = json_array();
        _cleanup_(freep) char *after = NULL;

        if (!all)
                return -ENOMEM;
        for (;;) {
                json_t *req = json_pack("{s:s, s:s}", "op", "token.revocation_list", "plugin", plugin);
                if (req && after)
                        json_object_set_new(req, "after", json_string(after));
                _cleanup_(freep) char *text = req ? json_dumps(req, JSON_COMPACT) : NULL;
                json_decref(req);
                if (!text)
                        return -ENOMEM;
                char *reply = NULL;
                int r = cv_call_json(c, text, &reply);
                if (r < 0) {
                        snprintf(message, message_size, "%s", strerror(-r));
                        return r;
                }
                _cleanup_(cli_json_decrefp) json_t *j = json_loads(reply, 0, NULL);
                cv_free_wiped(reply, (size_t) -1);
                if (!json_is_true(json_object_get(j, "ok"))) {
                        json_t *e = json_object_get(j, "error");
                        snprintf(message, message_size, "%s",
                                 json_string_value(json_object_get(e, "message")) ?: "invalid reply");
                        return reply_errno(json_string_value(json_object_get(e, "code")));
                }
                if (json_array_extend(all, json_object_get(j, "revocations")) < 0)
                        return -ENOMEM;
                free(after);
                after = NULL;
                const char *next = json_string_value(json_object_get(j, "next"));
                if (!next)
                        break;
                after = strdup(next);
                if (!after)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(all);
        return 0;
}

static int revocations_print_table(const json_t *items) {
        _cleanup_(cli_table_freep) CliTable *t = NULL;
        char deleted[CLI_TIME_SIZE], next[CLI_TIME_SIZE], attempts[24];
        json_t *e;
        size_t i;

        int r = cli_table_new(5, (const char *const[]) { "USER", "DELETED", "ATTEMPTS", "NEXT_TRY", "LAST_ERROR" }, &t);
        json_array_foreach(items, i, e) {
                if (r < 0)
                        break;
                snprintf(attempts, sizeof(attempts), "%lld",
                         (long long) json_integer_value(json_object_get(e, "attempts")));
                r = cli_table_add(
                        t, (const char *const[]) {
                                   json_string_value(json_object_get(e, "user")) ?: "?",
                                   cli_time_format(json_integer_value(json_object_get(e, "deleted_at")), deleted),
                                   attempts,
                                   cli_time_format(json_integer_value(json_object_get(e, "next_at")) / 1000, next),
                                   json_string_value(json_object_get(e, "last_error")) ?: "-" });
        }
        if (r >= 0)
                r = cli_table_print(t);
        return r < 0 ? cli_error(r, "cannot print the list: %s", strerror(-r)) : 0;
}

int cmd_token_revocations(Cli *cli, char **args) {
        json_t *items = NULL;
        char message[256] = "";
        CvClient *c;

        int r = cli_connect(cli, &c);
        if (r < 0)
                return r;
        r = revocations_fetch(c, args[0], &items, message, sizeof(message));
        if (r < 0)
                return cli_error(r, "%s", message);
        if (cli->json)
                return cli_print_json(items);
        r = revocations_print_table(items);
        json_decref(items);
        return r;
}

/* After `token ls`'s table: the deleted sets still pending revocation, if
 * any and if the caller may see them (the refresher's class: a reader
 * without it gets the sets alone). */
int cli_token_revocations_after_ls(CvClient *c, const char *plugin) {
        json_t *items = NULL;
        char message[256] = "";

        int r = revocations_fetch(c, plugin, &items, message, sizeof(message));
        if (r == -EPERM)
                return 0;
        if (r < 0)
                return cli_error(r, "pending revocations: %s", message);
        if (json_array_size(items) > 0) {
                printf("\nPending revocation at the provider (deleted token sets):\n");
                fflush(stdout);
                r = revocations_print_table(items);
        }
        json_decref(items);
        return r;
}
