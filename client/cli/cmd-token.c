/* cmd-token.c — credvault token put|get|ls|rm|revocations.
 *
 * Owns: passing a token endpoint's JSON response from stdin to the daemon
 * (checked here only to be one JSON object of bounded size: the daemon
 * checks the fields and names the bad one), printing the stored token set
 * as JSON, listing token sets with their states, and the deleted sets
 * still pending revocation at the provider (RFC 7009).
 * Never: echo any part of the input in an error (it holds the tokens), or
 * print tokens anywhere but the stdout of `token get` and `token ls
 * --reveal`. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "tty.h"

/* stdin as one JSON object (duplicate keys refused: which one would
 * count?), made a C string for the library. */
static int token_response_read(CliBuf **ret) {
        _cleanup_(cli_buf_freep) CliBuf *in = NULL;
        _cleanup_(cli_json_decrefp) json_t *j = NULL;
        json_error_t e;
        int r;

        /* A JSON document is not typed unseen like one value: say how it
         * ends, rather than wait silently. */
        if (tty_is(STDIN_FILENO))
                fputs("credvault: reading the token endpoint's JSON response from the terminal; end it with "
                      "Ctrl-D\n",
                      stderr);
        r = cli_stdin_read(CLI_TOKEN_JSON_SIZE_MAX, &in);
        if (r == -EMSGSIZE)
                return cli_error(r, "token: stdin is over %d bytes; nothing stored", CLI_TOKEN_JSON_SIZE_MAX);
        if (r < 0)
                return cli_error(r, "cannot read the token set from stdin: %s", strerror(-r));
        j = json_loadb((const char *) in->data, in->size, JSON_REJECT_DUPLICATES, &e);
        if (!j) {
                /* jansson's text ends in "near '<input>'": cut that off, it
                 * may be a piece of a token. */
                char *near = strstr(e.text, " near ");
                if (near)
                        *near = '\0';
                return cli_error(-EINVAL, "token: invalid JSON on stdin (%s) at line %d, column %d",
                                 e.text[0] ? e.text : "syntax error", e.line, e.column);
        }
        if (!json_is_object(j))
                return cli_error(-EINVAL, "token: stdin must hold a JSON object");
        /* jansson refuses NUL bytes outside strings and "\u0000" inside
         * them, so the text has none and is whole as a C string. */
        r = cli_buf_terminate(in);
        if (r < 0)
                return cli_error(r, "token: invalid JSON on stdin");
        *ret = TAKE_PTR(in);
        return 0;
}

int cmd_token_put(Cli *cli, char **args) {
        _cleanup_(cli_buf_freep) CliBuf *in = NULL;
        int64_t version = 0;
        CvClient *c;
        int r;

        r = token_response_read(&in);
        if (r < 0)
                return r;
        r = cli_connect(cli, &c);
        if (r < 0)
                return r;
        r = cv_token_put_response(c, args[0], args[1], (const char *) in->data, &version);
        if (r < 0)
                return cli_error_call(c, r);
        return cli_version_print(cli, args[0], "user", args[1], version);
}

/* The stored set as JSON text (cv_token_get_json) parsed, and its
 * metadata. The library hands the two out by separate calls; a refresh
 * between them is seen by comparing the access tokens, and read again. */
#define TOKEN_GET_TRIES 3
static int token_get_with_meta(CvClient *c, const char *plugin, const char *user, int min_valid_sec, json_t **ret_set,
                               CvToken **ret_meta) {
        for (int i = 0; i < TOKEN_GET_TRIES; i++) {
                _cleanup_(cli_token_freep) CvToken *meta = NULL;
                _cleanup_(cli_text_freep) char *text = NULL;
                _cleanup_(cli_json_decrefp) json_t *set = NULL;

                int r = cv_token_get_valid(c, plugin, user, min_valid_sec, &meta);
                if (r >= 0)
                        r = cv_token_get_json(c, plugin, user, min_valid_sec, &text);
                if (r < 0)
                        return cli_error_call(c, r);
                set = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
                const char *at = json_string_value(json_object_get(set, "access_token"));
                if (!json_is_object(set) || !at)
                        return cli_error(-EPROTO, "credvaultd sent an invalid token set");
                if (strcmp(at, meta->access_token) == 0) {
                        *ret_set = TAKE_PTR(set);
                        *ret_meta = TAKE_PTR(meta);
                        return 0;
                }
        }
        return cli_error(-EAGAIN, "the token set kept changing while it was read; try again");
}

int cmd_token_get(Cli *cli, char **args) {
        _cleanup_(cli_text_freep) char *text = NULL;
        _cleanup_(cli_token_freep) CvToken *meta = NULL;
        json_t *set = NULL;
        CvClient *c;
        int r;

        r = cli_connect(cli, &c);
        if (r < 0)
                return r;
        if (!cli->json) {
                /* The daemon's text as it is: every field it stored. */
                r = cv_token_get_json(c, args[0], args[1], cli->min_valid_sec, &text);
                if (r < 0)
                        return cli_error_call(c, r);
                r = cli_write_secret_line(text);
                return r < 0 ? cli_error(r, "cannot write to stdout: %s", strerror(-r)) : 0;
        }
        r = token_get_with_meta(c, args[0], args[1], cli->min_valid_sec, &set, &meta);
        if (r < 0)
                return r;
        return cli_print_json(json_pack("{s:s s:s s:I s:I s:I s:o}", "plugin", args[0], "user", args[1], "version",
                                        (json_int_t) meta->version, "created", (json_int_t) meta->created, "updated",
                                        (json_int_t) meta->updated, "token", set));
}

/* The rows `token ls` shows: all, or with --expiring only the sets that
 * expire within it or have expired. The state is the daemon's; the expiry
 * is checked too, so that one being refreshed or needing reauthorization
 * is not left out. */
static bool token_shown(const Cli *cli, const CvTokenInfo *e, int64_t now) {
        if (!cli_has(cli, CLI_OPT_EXPIRING))
                return true;
        return strcmp(e->state, "expiring") == 0 || strcmp(e->state, "expired") == 0 ||
               (e->expires_at >= 0 && e->expires_at <= now + cli->expiring_sec);
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

static int tokens_print_json(CvClient *c, const char *plugin, const CvTokenInfo *items, const bool *shown,
                             size_t n_items, bool reveal) {
        json_t *array = json_array();
        int r = 0;

        for (size_t i = 0; array && i < n_items; i++) {
                const CvTokenInfo *e = &items[i];
                char *token = NULL;
                const char *state = NULL;
                if (!shown[i])
                        continue;
                json_t *expires_at = e->expires_at >= 0 ? json_integer(e->expires_at) : json_null();
                json_t *item = json_pack("{s:s s:I s:I s:I s:o s:s}", "user", e->user, "version",
                                         (json_int_t) e->version, "created", (json_int_t) e->created, "updated",
                                         (json_int_t) e->updated, "expires_at", expires_at, "state", e->state);
                if (item && reveal) {
                        r = token_reveal(c, plugin, e->user, &token, &state);
                        if (r >= 0)
                                r = json_object_set_new(item, "access_token", token ? json_string(token) : json_null());
                        cv_free_wiped(token, (size_t) -1);
                }
                if (r < 0)
                        json_decref(item);
                /* json_array_append_new() drops item if it fails. */
                if (!item || r < 0 || json_array_append_new(array, item) < 0) {
                        json_decref(array);
                        array = NULL;
                }
        }
        if (r < 0)
                return r;
        return cli_print_json(array);
}

static int tokens_print_table(CvClient *c, const char *plugin, const CvTokenInfo *items, const bool *shown,
                              size_t n_items, bool reveal) {
        _cleanup_(cli_table_freep) CliTable *t = NULL;
        char expires[CLI_TIME_SIZE], updated[CLI_TIME_SIZE];
        int r;

        r = cli_table_new(reveal ? 5 : 4,
                          (const char *const[]) { "USER", "STATE", "EXPIRES", "UPDATED", "ACCESS_TOKEN" }, &t);
        for (size_t i = 0; r >= 0 && i < n_items; i++) {
                char *token = NULL, because[32] = "";
                const char *state = NULL;
                if (!shown[i])
                        continue;
                if (reveal) {
                        r = token_reveal(c, plugin, items[i].user, &token, &state);
                        if (r < 0)
                                return r;
                        if (!token)
                                snprintf(because, sizeof(because), "(%s)", state);
                }
                r = cli_table_add(t, (const char *const[]) { items[i].user, items[i].state,
                                                             cli_time_format(items[i].expires_at, expires),
                                                             cli_time_format(items[i].updated, updated),
                                                             token ?: because });
                cv_free_wiped(token, (size_t) -1);
        }
        if (r >= 0)
                r = cli_table_print(t);
        return r < 0 ? cli_error(r, "cannot print the list: %s", strerror(-r)) : 0;
}

/* ---- pending revocations (token.revocation_list, through cv_call_json():
 * the refresher's op, not the library's) ---- */

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
static int revocations_after_ls(CvClient *c, const char *plugin) {
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

int cmd_token_ls(Cli *cli, char **args) {
        CvTokenInfo *items = NULL;
        _cleanup_(freep) bool *shown = NULL;
        bool reveal = cli_has(cli, CLI_OPT_REVEAL);
        CvClient *c;
        int r;

        r = cli_connect(cli, &c);
        if (r < 0)
                return r;
        r = cv_token_list_expiring(c, args[0], cli->expiring_sec, &items);
        if (r < 0)
                return cli_error_call(c, r);
        size_t n_items = (size_t) r;
        int64_t now = (int64_t) time(NULL);

        shown = calloc(n_items + 1, sizeof(bool));
        if (!shown) {
                cv_token_info_free(items, n_items);
                return cli_error(-ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < n_items; i++)
                shown[i] = token_shown(cli, &items[i], now);
        r = cli->json ? tokens_print_json(c, args[0], items, shown, n_items, reveal)
                      : tokens_print_table(c, args[0], items, shown, n_items, reveal);
        cv_token_info_free(items, n_items);
        if (r >= 0 && !cli->json)
                r = revocations_after_ls(c, args[0]);
        return r;
}

int cmd_token_rm(Cli *cli, char **args) {
        return cli_delete_record(cli, cv_token_delete, args[0], args[1]);
}
