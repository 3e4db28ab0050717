/* cmd-status.c — credvault status.
 *
 * Owns: printing the daemon's health (cv_health) as text or JSON.
 * Never: print anything the health reply does not carry; it holds no
 * secrets and the command must not ask for any. */
#include <inttypes.h>
#include <stdio.h>

#include "cli.h"

static int status_print_json(const CvHealth *h) {
        return cli_print_json(json_pack("{s:s s:I s:I s:{s:I s:I} s:I s:I}", "version", h->version, "uptime",
                                        (json_int_t) h->uptime_sec, "connections", (json_int_t) h->connections,
                                        "keyring", "primary", (json_int_t) h->kek_primary, "keks", (json_int_t) h->keks,
                                        "secrets", (json_int_t) h->secrets, "tokens", (json_int_t) h->tokens));
}

static void status_print_text(const CvHealth *h) {
        printf("version:     %s\n", h->version);
        printf("uptime:      %" PRId64 "s\n", h->uptime_sec);
        printf("connections: %" PRId64 "\n", h->connections);
        printf("primary KEK: version %" PRId64 "\n", h->kek_primary);
        printf("KEKs:        %" PRId64 "\n", h->keks);
        printf("secrets:     %" PRId64 "\n", h->secrets);
        printf("tokens:      %" PRId64 "\n", h->tokens);
}

int cmd_status(Cli *cli, char **args) {
        CvHealth h;
        CvClient *c;
        int r;

        r = cli_connect(cli, &c);
        if (r < 0)
                return r;
        r = cv_health(c, &h);
        if (r < 0)
                return cli_error_call(c, r);

        if (cli->json)
                return status_print_json(&h);
        status_print_text(&h);
        return 0;
}
