/* cmd-token.c — credvault token put|get|rm (ls: cmd-token-ls.c).
 *
 * Owns: passing a token endpoint's JSON response from stdin to the daemon
 * (checked here only to be one JSON object of bounded size: the daemon
 * checks the fields and names the bad one), and printing the stored token
 * set as JSON.
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

int cmd_token_rm(Cli *cli, char **args) {
        return cli_delete_record(cli, cv_token_delete, args[0], args[1]);
}
