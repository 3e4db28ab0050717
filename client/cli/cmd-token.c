/* cmd-token.c — credvault token put|get|ls|rm.
 *
 * Owns: the token set JSON a user gives on stdin (strictly checked: known
 * fields of the right type only, the OAuth "expires_in" turned into
 * "expires_at") and the token set JSON `token get` prints.
 * Never: send a token set that failed a check, echo any part of the input
 * in an error (it holds the tokens), or print tokens anywhere but
 * `token get`'s stdout. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static const struct {
        const char *name;
        json_type type;
        bool required;
} token_fields[] = {
        { "access_token", JSON_STRING, true },
        { "token_type", JSON_STRING, true },
        { "refresh_token", JSON_STRING, false },
        { "scope", JSON_STRING, false },
        { "expires_at", JSON_INTEGER, false },
        { "expires_in", JSON_INTEGER, false },
};

/* Name the first field that is unknown, of the wrong type or missing; the
 * strict unpack below would say the same without naming it. */
static int token_fields_check(json_t *j) {
        const char *key;
        json_t *v;

        json_object_foreach(j, key, v) {
                size_t i = 0;
                while (i < ELEMENTSOF(token_fields) && strcmp(token_fields[i].name, key) != 0)
                        i++;
                if (i == ELEMENTSOF(token_fields))
                        return cli_error(-EINVAL, "token: unknown field '%s'", key);
                if (json_typeof(v) != token_fields[i].type)
                        return cli_error(-EINVAL, "token: '%s' must be %s", key,
                                         token_fields[i].type == JSON_STRING ? "a string" : "an integer");
        }
        for (size_t i = 0; i < ELEMENTSOF(token_fields); i++)
                if (token_fields[i].required && !json_object_get(j, token_fields[i].name))
                        return cli_error(-EINVAL, "token: '%s' is required", token_fields[i].name);
        return 0;
}

static int token_expiry(json_int_t expires_at, json_int_t expires_in, int64_t *ret) {
        int64_t now = (int64_t) time(NULL);

        if (expires_at >= 0 && expires_in >= 0)
                return cli_error(-EINVAL, "token: give 'expires_at' or 'expires_in', not both");
        if (expires_in >= 0) {
                if (expires_in > INT64_MAX - now)
                        return cli_error(-EINVAL, "token: 'expires_in' is too large");
                expires_at = now + expires_in;
        }
        *ret = expires_at;
        return 0;
}

/* Parse the token set; the strings in ret_token point into *ret_json,
 * which the caller keeps until it is done with them. */
static int token_parse(const CliBuf *in, json_t **ret_json, CvToken *ret_token) {
        _cleanup_(cli_json_decrefp) json_t *j = NULL;
        json_int_t expires_at = -1, expires_in = -1;
        CvToken t = { .expires_at = -1 };
        json_error_t e;
        int r;

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
        r = token_fields_check(j);
        if (r < 0)
                return r;
        if (json_unpack_ex(j, &e, JSON_STRICT, "{s:s s:s s?s s?s s?I s?I}", "access_token", &t.access_token,
                           "token_type", &t.token_type, "refresh_token", &t.refresh_token, "scope", &t.scope,
                           "expires_at", &expires_at, "expires_in", &expires_in) < 0)
                return cli_error(-EINVAL, "token: %s", e.text);
        if (json_object_get(j, "expires_at") && expires_at < 0)
                return cli_error(-EINVAL, "token: 'expires_at' must not be negative");
        if (json_object_get(j, "expires_in") && expires_in < 0)
                return cli_error(-EINVAL, "token: 'expires_in' must not be negative");
        r = token_expiry(expires_at, expires_in, &t.expires_at);
        if (r < 0)
                return r;
        *ret_json = TAKE_PTR(j);
        *ret_token = t;
        return 0;
}

int cmd_token_put(Cli *cli, char **args) {
        _cleanup_(cli_buf_freep) CliBuf *in = NULL;
        _cleanup_(cli_json_decrefp) json_t *j = NULL;
        int64_t version = 0;
        CvToken token;
        CvClient *c;
        int r;

        r = cli_stdin_read(CLI_TOKEN_JSON_SIZE_MAX, &in);
        if (r == -EMSGSIZE)
                return cli_error(r, "token: stdin is over %d bytes; nothing stored", CLI_TOKEN_JSON_SIZE_MAX);
        if (r < 0)
                return cli_error(r, "cannot read the token set from stdin: %s", strerror(-r));
        r = token_parse(in, &j, &token);
        if (r < 0)
                return r;
        r = cli_connect(cli, &c);
        if (r < 0)
                return r;
        r = cv_token_put(c, args[0], args[1], &token, &version);
        if (r < 0)
                return cli_error_call(c, r);

        if (cli->json)
                return cli_print_json(json_pack("{s:s s:s s:I}", "plugin", args[0], "user", args[1], "version",
                                                (json_int_t) version));
        printf("%s/%s version %" PRId64 "\n", args[0], args[1], version);
        return 0;
}

/* The token set as `token put` reads it, so that get | put round-trips. */
static json_t *token_to_json(const CvToken *t) {
        json_t *expires_at = NULL;

        if (t->expires_at >= 0 && !(expires_at = json_integer(t->expires_at)))
                return NULL;
        return json_pack("{s:s s:s s:s* s:s* s:o*}", "access_token", t->access_token, "token_type", t->token_type,
                         "refresh_token", t->refresh_token, "scope", t->scope, "expires_at", expires_at);
}

int cmd_token_get(Cli *cli, char **args) {
        _cleanup_(cli_token_freep) CvToken *t = NULL;
        CvClient *c;
        int r;

        r = cli_connect(cli, &c);
        if (r < 0)
                return r;
        r = cv_token_get(c, args[0], args[1], &t);
        if (r < 0)
                return cli_error_call(c, r);

        json_t *token = token_to_json(t);
        if (!cli->json || !token)
                return cli_print_json(token);
        return cli_print_json(json_pack("{s:s s:s s:I s:I s:I s:o}", "plugin", args[0], "user", args[1], "version",
                                        (json_int_t) t->version, "created", (json_int_t) t->created, "updated",
                                        (json_int_t) t->updated, "token", token));
}

static int tokens_print_json(const CvTokenInfo *items, size_t n_items) {
        json_t *array = json_array();

        for (size_t i = 0; array && i < n_items; i++) {
                const CvTokenInfo *e = &items[i];
                json_t *expires_at = e->expires_at >= 0 ? json_integer(e->expires_at) : json_null();
                if (json_array_append_new(array, json_pack("{s:s s:I s:I s:I s:o}", "user", e->user, "version",
                                                           (json_int_t) e->version, "created",
                                                           (json_int_t) e->created, "updated",
                                                           (json_int_t) e->updated, "expires_at", expires_at)) < 0) {
                        json_decref(array);
                        array = NULL;
                }
        }
        return cli_print_json(array);
}

static int tokens_print_table(const CvTokenInfo *items, size_t n_items) {
        _cleanup_(cli_table_freep) CliTable *t = NULL;
        char version[24], expires[CLI_TIME_SIZE], updated[CLI_TIME_SIZE];

        int r = cli_table_new(4, (const char *const[]) { "USER", "VERSION", "EXPIRES", "UPDATED" }, &t);
        for (size_t i = 0; r >= 0 && i < n_items; i++) {
                snprintf(version, sizeof(version), "%" PRId64, items[i].version);
                r = cli_table_add(t, (const char *const[]) { items[i].user, version,
                                                             cli_time_format(items[i].expires_at, expires),
                                                             cli_time_format(items[i].updated, updated) });
        }
        if (r >= 0)
                r = cli_table_print(t);
        return r < 0 ? cli_error(r, "cannot print the list: %s", strerror(-r)) : 0;
}

int cmd_token_ls(Cli *cli, char **args) {
        CvTokenInfo *items = NULL;
        CvClient *c;
        int r;

        r = cli_connect(cli, &c);
        if (r < 0)
                return r;
        r = cv_token_list(c, args[0], &items);
        if (r < 0)
                return cli_error_call(c, r);
        size_t n_items = (size_t) r;

        r = cli->json ? tokens_print_json(items, n_items) : tokens_print_table(items, n_items);
        cv_token_info_free(items, n_items);
        return r;
}

int cmd_token_rm(Cli *cli, char **args) {
        CvClient *c;
        int r;

        r = cli_connect(cli, &c);
        if (r < 0)
                return r;
        r = cv_token_delete(c, args[0], args[1]);
        if (r < 0)
                return cli_error_call(c, r);
        return 0;
}
