/* cmd-oauth.c — credvault oauth verify-client.
 *
 * Owns: reading the client credentials a plugin's token endpoint received
 * (an HTTP Basic Authorization header, or with --post the form body's
 * client_id and client_secret, application/x-www-form-urlencoded) and
 * asking the daemon whether they are the stored ones.
 * Never: print or quote the presented credentials, in the answer or an
 * error; they are decoded only in a buffer that is wiped. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static int hex_digit(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* Decode s (NUL-terminated) in place: "+" is a space, "%XX" a byte.
 * -EINVAL for a bad escape or an escaped NUL, which would cut the
 * credential short. */
static int form_decode(char *s) {
        char *w = s;
        for (const char *p = s; *p; p++) {
                if (*p == '+')
                        *w++ = ' ';
                else if (*p == '%') {
                        int hi = hex_digit(p[1]), lo = hi >= 0 ? hex_digit(p[2]) : -1;
                        if (lo < 0 || (hi | lo) == 0)
                                return -EINVAL;
                        *w++ = (char) (hi << 4 | lo);
                        p += 2;
                } else
                        *w++ = *p;
        }
        *w = '\0';
        return 0;
}

/* The client_id and client_secret of a form body, decoded in place;
 * other parameters (grant_type, code, ...) are skipped. Each must be there
 * once (RFC 6749 §3.2: parameters are not repeated). */
static int form_credentials(char *body, const char **ret_id, const char **ret_secret) {
        const char *id = NULL, *secret = NULL;
        char *p = body;

        while (*p) {
                char *end = strchr(p, '&'), *eq;
                if (end)
                        *end = '\0';
                eq = strchr(p, '=');
                if (eq)
                        *eq = '\0';
                const char **slot = strcmp(p, "client_id") == 0       ? &id
                                    : strcmp(p, "client_secret") == 0 ? &secret
                                                                      : NULL;
                if (slot) {
                        if (*slot)
                                return cli_error(-EINVAL, "oauth: the form body has '%s' more than once", p);
                        char *value = eq ? eq + 1 : p + strlen(p);
                        if (form_decode(value) < 0)
                                return cli_error(-EINVAL, "oauth: the form body's '%s' is not form-encoded", p);
                        *slot = value;
                }
                if (!end)
                        break;
                p = end + 1;
        }
        if (!id)
                return cli_error(-EINVAL, "oauth: the form body has no 'client_id'");
        if (!secret)
                return cli_error(-EINVAL, "oauth: the form body has no 'client_secret'");
        *ret_id = id;
        *ret_secret = secret;
        return 0;
}

int cmd_oauth_verify_client(Cli *cli, char **args) {
        _cleanup_(cli_buf_freep) CliBuf *in = NULL;
        const char *id = NULL, *secret = NULL;
        bool post = cli_has(cli, CLI_OPT_POST);
        CvClient *c;
        int r;

        r = cli_stdin_read_text(post ? "the form body" : "the Authorization header", CLI_AUTHORIZATION_SIZE_MAX, true,
                                &in);
        if (r < 0)
                return r;
        if (post) {
                r = form_credentials((char *) in->data, &id, &secret);
                if (r < 0)
                        return r;
        }
        r = cli_connect(cli, &c);
        if (r < 0)
                return r;
        r = post ? cv_oauth_verify_client(c, args[0], NULL, id, secret)
                 : cv_oauth_verify_client(c, args[0], (const char *) in->data, NULL, NULL);
        if (r < 0)
                return cli_error_call(c, r);
        return cli_match_print(cli, r > 0, -1);
}
