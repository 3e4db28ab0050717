/* cmd-token-ls.c — credvault token ls: a plugin's token sets, their
 * states and their refreshes.
 *
 * Owns: listing token.list page by page and printing, for each set, its
 * state and expiry, and when its refresh was last tried, what came of it
 * and when the next attempt is due (the daemon has them from the refresh
 * calls and the refresher's report). Through cv_call_json(): the
 * library's CvTokenInfo has no room for the refresh state, and its layout
 * is part of the stable ABI.
 * Never: prints a token but with --reveal, and then only the access
 * token of a set that may be used. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

/* Every set of plugin, as token.list's items, in one array. */
static int tokens_fetch(CvClient *c, const char *plugin, int64_t expiring, json_t **ret) {
        _cleanup_(cli_json_decrefp) json_t *all = json_array();
        _cleanup_(freep) char *after = NULL;

        if (!all)
                return cli_error(-ENOMEM, "out of memory");
        for (;;) {
                json_t *req = json_pack("{s:i s:s s:s s:I}", "v", 1, "op", "token.list", "plugin", plugin, "expiring",
                                        (json_int_t) expiring);
                if (req && after)
                        json_object_set_new(req, "after", json_string(after));
                _cleanup_(freep) char *text = req ? json_dumps(req, JSON_COMPACT) : NULL;
                json_decref(req);
                if (!text)
                        return cli_error(-ENOMEM, "out of memory");
                _cleanup_(freep) char *reply = NULL;
                int r = cv_call_json(c, text, &reply);
                if (r < 0)
                        return cli_error_call(c, r);
                _cleanup_(cli_json_decrefp) json_t *j = json_loads(reply, 0, NULL);
                /* cv_call_json() keeps an error reply's code and message for
                 * cli_error_call() (and the exit status) to read. */
                if (json_object_get(j, "error"))
                        return cli_error_call(c, -EPROTO);
                json_t *items = json_object_get(j, "tokens");
                if (!json_is_array(items) || json_array_extend(all, items) < 0)
                        return cli_error(-EPROTO, "credvaultd sent an invalid token list");
                const char *next = json_string_value(json_object_get(j, "next"));
                if (!next)
                        break;
                free(after);
                after = strdup(next);
                if (!after)
                        return cli_error(-ENOMEM, "out of memory");
        }
        *ret = TAKE_PTR(all);
        return 0;
}

static int64_t member_int(json_t *o, const char *key, int64_t absent) {
        json_t *v = json_object_get(o, key);
        return json_is_integer(v) ? (int64_t) json_integer_value(v) : absent;
}

/* The rows `token ls` shows: all, or with --expiring only the sets that
 * expire within it or have expired. The state is the daemon's; the expiry
 * is checked too, so that one being refreshed or needing reauthorization
 * is not left out. */
static bool token_shown(const Cli *cli, json_t *item, int64_t now) {
        if (!cli_has(cli, CLI_OPT_EXPIRING))
                return true;
        const char *state = json_string_value(json_object_get(item, "state")) ?: "";
        int64_t expires_at = member_int(item, "expires_at", -1);
        return strcmp(state, "expiring") == 0 || strcmp(state, "expired") == 0 ||
               (expires_at >= 0 && expires_at <= now + cli->expiring_sec);
}

/* --reveal: the current access token of a set, or NULL and *ret_state the
 * reason there is none that may be used. */
static int token_reveal(CvClient *c, const char *plugin, const char *user, char **ret_token, const char **ret_state) {
        _cleanup_(cli_text_freep) char *text = NULL;
        _cleanup_(cli_json_decrefp) json_t *set = NULL;

        *ret_token = NULL;
        *ret_state = NULL;
        int r = cv_token_get_json(c, plugin, user, 0, &text);
        switch (r) {
        case -ESTALE:
                *ret_state = "expired";
                return 0;
        case -EKEYREVOKED:
                *ret_state = "reauth_required";
                return 0;
        case -EALREADY:
                *ret_state = "refreshing";
                return 0;
        case -ENOENT:
                *ret_state = "deleted";
                return 0;
        }
        if (r < 0)
                return cli_error_call(c, r);
        set = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
        const char *at = json_string_value(json_object_get(set, "access_token"));
        if (!at)
                return cli_error(-EPROTO, "credvaultd sent an invalid token set");
        *ret_token = strdup(at);
        return *ret_token ? 0 : cli_error(-ENOMEM, "out of memory");
}

/* The daemon's items as they are (its "refresh" times are unix ms), with
 * expires_at null where there is none, and with --reveal the access token
 * (null where none may be used). */
static int tokens_print_json(CvClient *c, const char *plugin, json_t *items, const bool *shown, bool reveal) {
        json_t *array = json_array();
        size_t i;
        json_t *item;
        int r = 0;

        json_array_foreach(items, i, item) {
                char *token = NULL;
                const char *state = NULL;
                if (!shown[i])
                        continue;
                /* The members in the order this command has always printed
                 * them, expires_at null where there is none. */
                json_t *expires_at = json_object_get(item, "expires_at");
                json_t *out = json_pack("{s:O s:O s:O s:O s:O s:O}", "user", json_object_get(item, "user"), "version",
                                        json_object_get(item, "version"), "created", json_object_get(item, "created"),
                                        "updated", json_object_get(item, "updated"), "expires_at",
                                        expires_at ?: json_null(), "state", json_object_get(item, "state"));
                if (out && json_object_get(item, "refresh"))
                        json_object_set(out, "refresh", json_object_get(item, "refresh"));
                if (!out)
                        return cli_error(-EPROTO, "credvaultd sent an invalid token list");
                if (reveal) {
                        r = token_reveal(c, plugin, json_string_value(json_object_get(item, "user")), &token, &state);
                        if (r >= 0)
                                r = json_object_set_new(out, "access_token", token ? json_string(token) : json_null());
                        cv_free_wiped(token, (size_t) -1);
                }
                if (r < 0 || !array || json_array_append_new(array, out) < 0) {
                        json_decref(array);
                        array = NULL;
                        if (r < 0)
                                return r;
                }
        }
        return cli_print_json(array);
}

/* The result as the daemon notes it (ok, or an error code of a-z and _),
 * else "?": nothing else reaches the terminal. */
static const char *result_of(json_t *refresh) {
        const char *r = json_string_value(json_object_get(refresh, "result"));
        if (!r)
                return "-";
        for (const char *p = r; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || *p == '_'))
                        return "?";
        return *r ? r : "?";
}

/* A time of the refresh state (unix ms), to the second; "-" if none. */
static const char *ms_format(json_t *refresh, const char *key, char buf[static CLI_TIME_SIZE]) {
        int64_t ms = member_int(refresh, key, -1);
        return cli_time_format(ms < 0 ? -1 : ms / 1000, buf);
}

static int tokens_print_table(CvClient *c, const char *plugin, json_t *items, const bool *shown, bool reveal) {
        _cleanup_(cli_table_freep) CliTable *t = NULL;
        char expires[CLI_TIME_SIZE], updated[CLI_TIME_SIZE], tried[CLI_TIME_SIZE], next[CLI_TIME_SIZE];
        size_t i;
        json_t *item;
        int r;

        r = cli_table_new(reveal ? 8 : 7,
                          (const char *const[]) { "USER", "STATE", "EXPIRES", "UPDATED", "REFRESH_TRIED", "RESULT",
                                                  "NEXT_REFRESH", "ACCESS_TOKEN" },
                          &t);
        json_array_foreach(items, i, item) {
                if (r < 0)
                        break;
                char *token = NULL, because[32] = "";
                const char *state = NULL, *user = json_string_value(json_object_get(item, "user"));
                json_t *refresh = json_object_get(item, "refresh");
                if (!shown[i])
                        continue;
                if (reveal) {
                        r = token_reveal(c, plugin, user, &token, &state);
                        if (r < 0)
                                return r;
                        if (!token)
                                snprintf(because, sizeof(because), "(%s)", state);
                }
                r = cli_table_add(t,
                                  (const char *const[]) { user, json_string_value(json_object_get(item, "state")),
                                                          cli_time_format(member_int(item, "expires_at", -1), expires),
                                                          cli_time_format(member_int(item, "updated", -1), updated),
                                                          ms_format(refresh, "tried_at", tried), result_of(refresh),
                                                          ms_format(refresh, "next_at", next), token ?: because });
                cv_free_wiped(token, (size_t) -1);
        }
        if (r >= 0)
                r = cli_table_print(t);
        return r < 0 ? cli_error(r, "cannot print the list: %s", strerror(-r)) : 0;
}

int cmd_token_ls(Cli *cli, char **args) {
        _cleanup_(cli_json_decrefp) json_t *items = NULL;
        _cleanup_(freep) bool *shown = NULL;
        bool reveal = cli_has(cli, CLI_OPT_REVEAL);
        CvClient *c;
        int r;

        r = cli_connect(cli, &c);
        if (r < 0)
                return r;
        r = tokens_fetch(c, args[0], cli->expiring_sec, &items);
        if (r < 0)
                return r;
        int64_t now = (int64_t) time(NULL);
        shown = calloc(json_array_size(items) + 1, sizeof(bool));
        if (!shown)
                return cli_error(-ENOMEM, "out of memory");
        size_t i;
        json_t *item;
        json_array_foreach(items, i, item)
                shown[i] = token_shown(cli, item, now);
        if (cli->json)
                return tokens_print_json(c, args[0], items, shown, reveal);
        r = tokens_print_table(c, args[0], items, shown, reveal);
        return r < 0 ? r : cli_token_revocations_after_ls(c, args[0]);
}
