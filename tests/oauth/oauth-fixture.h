/* oauth-fixture.h — a real OAuth server and the refresher, for tests.
 *
 * Owns: starting tests/oauth/provider.js (oidc-provider behind a proxy
 * that can misbehave; installed by setup.sh into $OAUTH_CACHE), talking
 * to its control port, running credvault-refresher ($CREDVAULT_REFRESHER)
 * against a harness daemon, and the vault set-up every case needs: an
 * oauth plugin pointing at the proxy with the provider's client
 * credentials, and token sets minted by the provider. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "credvault.h"
#include "harness.h"

typedef struct OAuthServer {
        pid_t pid;
        int stdin_fd; /* closing it ends the server */
        char token_url[256];
        char control[128];
        json_t *info; /* the line it printed */
} OAuthServer;

/* Install oidc-provider if needed and start the server with access tokens
 * living access_ttl seconds. -errno with a reason (the test skips). */
int oauth_server_start(OAuthServer *s, int access_ttl, char *reason, size_t reason_size);
void oauth_server_stop(OAuthServer *s);
/* POST body (JSON text, NULL for none) to the control path; the parsed
 * answer, or NULL (and a failed assertion in the caller). */
json_t *oauth_control(const OAuthServer *s, const char *path, const char *body);
/* How the proxy answers from now on (a JSON object as text); stats zeroed. */
void oauth_mode(const OAuthServer *s, const char *mode_json);
/* A number from /stats. */
long long oauth_stat(const OAuthServer *s, const char *key);

/* Register an oauth plugin whose token endpoint is url (NULL: the
 * proxy's), content_type NULL for the default, with the credentials of
 * the provider's client "basic" or "post" (which also sets the plugin's
 * token_endpoint_auth_method). */
void fixture_plugin_add(CvClient *c, const OAuthServer *s, const char *plugin, const char *url,
                        const char *content_type, const char *client);
/* Mint a token set for user with client and store it expiring in
 * expires_in seconds; *ret_refresh_token (optional, free()) gets its
 * refresh token. */
void fixture_token_mint(CvClient *c, const OAuthServer *s, const char *plugin, const char *user, int expires_in,
                        const char *client, char **ret_refresh_token);

/* Run the refresher against socket with args (NULL-terminated), stderr
 * appended to log_path (NULL: inherited). Returns its pid. */
pid_t refresher_spawn(const char *socket, const char *log_path, const char *const *args);
/* The same as uid/gid (needs root; supplementary groups dropped). */
pid_t refresher_spawn_as(const char *socket, const char *log_path, const char *const *args, uid_t uid, gid_t gid);
/* Its exit status, or -ETIME after timeout_ms (it is then killed). Its
 * CPU time (user + system, ms) goes to refresher_last_cpu_ms. */
extern long refresher_last_cpu_ms;
int refresher_wait(pid_t pid, int timeout_ms);
/* Spawn and wait. */
int refresher_run(const char *socket, const char *const *args, int timeout_ms);

long long now_ms(void);

/* A test group's daemon and an admin client of it: 0, or -1 (cmocka's
 * setup and teardown answers). */
int fixture_daemon_start(Harness *h, CvClient **ret_client);
int fixture_daemon_stop(Harness *h, CvClient *client);
/* Between cases: every plugin deleted (and so its sets), the proxy
 * passing requests on again. */
void fixture_reset(CvClient *c, const OAuthServer *s);
