/* plugin-demo.c — what a plugin service does with libcredvault.
 *
 *     plugin-demo PLUGIN USER
 *
 * Fetches the plugin's client secret (to talk to its OAuth provider) and a
 * user's access token (to call the API on the user's behalf), as a plugin
 * backend would on its request path, and prints only their lengths. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "credvault.h"

int main(int argc, char **argv) {
        CvClient *c = NULL;
        CvSecret *secret = NULL;
        CvToken *token = NULL;
        int r;

        /* Parsed token sets pass through jansson: wipe what it frees. */
        cv_json_wipe_on_free();
        if (argc != 3) {
                fprintf(stderr, "usage: plugin-demo PLUGIN USER\n");
                return 2;
        }
        r = cv_client_new(NULL, 0, &c); /* $CREDVAULT_SOCKET or /run/credvault/socket */
        if (r < 0) {
                fprintf(stderr, "cannot reach credvaultd: %s\n", strerror(-r));
                return 1;
        }

        r = cv_secret_get(c, argv[1], "client_secret", &secret);
        if (r < 0) {
                fprintf(stderr, "client_secret: %s\n", cv_client_error_message(c));
                cv_client_free(c);
                return 1;
        }
        printf("%s: client_secret version %lld, %zu bytes (value stays in memory, wiped on free)\n", argv[1],
               (long long) secret->version, secret->value_size);
        cv_secret_free(secret);

        r = cv_token_get(c, argv[1], argv[2], &token);
        if (r < 0) {
                fprintf(stderr, "token of %s: %s\n", argv[2], cv_client_error_message(c));
                cv_client_free(c);
                return 1;
        }
        printf("%s: %s token for %s, %zu bytes, expires in %lld s\n", argv[1], token->token_type, argv[2],
               strlen(token->access_token),
               token->expires_at >= 0 ? (long long) (token->expires_at - time(NULL)) : -1LL);
        cv_token_free(token);
        cv_client_free(c);
        return 0;
}
