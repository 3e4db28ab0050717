/* revoke.c — revoking the tokens of deleted sets at their provider (RFC
 * 7009), a few requests at a time.
 *
 * The daemon keeps a deleted token set pending revocation where its
 * plugin has the secret revocation_endpoint; it never calls the network
 * itself. Here, for each plugin the scan knows that has one (https, or
 * http to a loopback address): list what is due (token.revocation_list),
 * and for each, take it (token.revocation_begin: the token, held off a
 * minute from a second refresher), POST token and token_type_hint to the
 * endpoint with the client authenticated as for a refresh, and say how it
 * went (token.revocation_end): the daemon drops a revoked one, backs off
 * or gives up a failed one. A provider that is down, answers 5xx or 429
 * holds the whole plugin, as for refreshes. The daemon's ops are called
 * through cv_call_json(): they are the refresher's, not the library's.
 *
 * Never: logs a token or a client secret; keeps a token past its request
 * (the reply that carried it is wiped once the request body is built). */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "provider.h"
#include "refresher.h"

#define ENDPOINT_SECRET "revocation_endpoint"
#define LIST_PAGE 100 /* LIST_PAGE_MAX */

typedef struct Due {
        size_t plugin;
        int64_t id;
} Due;

typedef struct RevokeJob {
        struct RevokeJob *next;
        size_t plugin;
        int64_t id;
        char *user;
        ProviderRequest *request;
} RevokeJob;

typedef struct Endpoint {
        CvSecret *url; /* NULL: none, or not to be called */
        CvSecret *id, *secret;
} Endpoint;

typedef struct RevokeRun {
        Refresher *r;
        Endpoint *ep; /* by plugin index */
        Due *due;
        size_t n_due;
        CURLM *multi;
        RevokeJob *jobs;
        unsigned in_flight;
        int failed;
        int64_t next_ms;
} RevokeRun;

/* One request to the daemon through cv_call_json(); the reply parsed
 * (jansson wipes what it frees: the process installed its allocator), or
 * NULL with the error logged. *ret_code gets the error code of an error
 * reply ("" for a transport failure). */
static json_t *call(Refresher *r, json_t *request, const char **ret_code) {
        char *text = json_dumps(request, JSON_COMPACT), *reply = NULL;
        *ret_code = "";
        if (!text) {
                json_decref(request);
                return NULL;
        }
        int k = cv_call_json(r->client, text, &reply);
        cv_free_wiped(text, (size_t) -1);
        if (k < 0) {
                refresher_log("credvaultd: %s", strerror(-k));
                json_decref(request);
                return NULL;
        }
        json_t *j = json_loads(reply, 0, NULL);
        cv_free_wiped(reply, (size_t) k);
        if (!json_is_true(json_object_get(j, "ok"))) {
                json_t *e = json_object_get(j, "error");
                const char *code = json_string_value(json_object_get(e, "code"));
                static char last[32];
                snprintf(last, sizeof(last), "%s", code ?: "");
                *ret_code = last;
                if (!code || strcmp(code, "not_found") != 0)
                        refresher_log("credvaultd: %s: %s", json_string_value(json_object_get(request, "op")) ?: "",
                                      json_string_value(json_object_get(e, "message")) ?: "invalid reply");
                json_decref(j);
                json_decref(request);
                return NULL;
        }
        json_decref(request);
        return j;
}

static void next_at(RevokeRun *run, int64_t at) {
        if (at < run->next_ms)
                run->next_ms = at;
}

/* The plugin's endpoint, checked: 1 if there is one to call, 0 if not. */
static int endpoint_load(RevokeRun *run, size_t i) {
        Refresher *r = run->r;
        PluginConf *p = &r->plugins[i];
        Endpoint *ep = &run->ep[i];
        int k = cv_secret_get(r->client, p->name, ENDPOINT_SECRET, &ep->url);
        if (k == -ENOENT || k == -EPERM)
                return 0;
        if (k < 0) {
                refresher_log("%s: secret " ENDPOINT_SECRET ": %s", p->name, cv_client_error_message(r->client));
                return 0;
        }
        char why[160];
        if (provider_url_check((const char *) ep->url->value, why, sizeof(why)) < 0 ||
            provider_same_origin((const char *) ep->url->value, p->token_url, why, sizeof(why)) < 0) {
                refresher_log("%s: not revoked: secret " ENDPOINT_SECRET ": %s", p->name, why);
                cv_secret_free(ep->url);
                ep->url = NULL;
                return 0;
        }
        return 1;
}

/* The plugin's pending revocations: those due now into run->due, the
 * earliest of the others into run->next_ms. */
static int list_due(RevokeRun *run, size_t i, int64_t now_ms) {
        Refresher *r = run->r;
        char *after = NULL;
        int k = 0;
        for (;;) {
                json_t *req = json_pack("{s:s, s:s, s:i}", "op", "token.revocation_list", "plugin", r->plugins[i].name,
                                        "limit", LIST_PAGE);
                if (req && after)
                        json_object_set_new(req, "after", json_string(after));
                free(after);
                after = NULL;
                const char *code;
                json_t *j = req ? call(r, req, &code) : NULL;
                if (!j)
                        return strcmp(code, "denied") == 0 ? 0 : -EIO;
                json_t *item;
                size_t idx;
                json_array_foreach(json_object_get(j, "revocations"), idx, item) {
                        int64_t at = json_integer_value(json_object_get(item, "next_at"));
                        if (at > now_ms) {
                                next_at(run, at);
                                continue;
                        }
                        Due *more = realloc(run->due, (run->n_due + 1) * sizeof(Due));
                        if (!more) {
                                k = -ENOMEM;
                                break;
                        }
                        run->due = more;
                        run->due[run->n_due++] = (Due) { i, json_integer_value(json_object_get(item, "id")) };
                }
                const char *next = json_string_value(json_object_get(j, "next"));
                if (next && k >= 0)
                        after = strdup(next);
                json_decref(j);
                if (!after || k < 0)
                        return k;
        }
}

/* revocation_end with error (NULL: revoked); the daemon's verdict logged. */
static void end(RevokeRun *run, RevokeJob *job, const char *error, const char *detail) {
        Refresher *r = run->r;
        const char *name = r->plugins[job->plugin].name, *code;
        json_t *req = json_pack("{s:s, s:s, s:I}", "op", "token.revocation_end", "plugin", name, "revocation",
                                (json_int_t) job->id);
        if (req && error)
                json_object_set_new(req, "error", json_string(error));
        json_t *j = req ? call(r, req, &code) : NULL;
        const char *state = json_string_value(json_object_get(j, "state"));
        if (!error) {
                r->stats.revoked++;
                if (r->opt.verbose)
                        refresher_log("%s/%s: token revoked", name, job->user);
        } else {
                r->stats.revocation_failures++;
                run->failed++;
                if (state && strcmp(state, "given_up") == 0)
                        refresher_log("%s/%s: revocation failed (%s); given up after %lld attempts", name, job->user,
                                      detail, (long long) json_integer_value(json_object_get(j, "attempts")));
                else
                        refresher_log(
                                "%s/%s: revocation failed (%s); next attempt in %lld s", name, job->user, detail,
                                (long long) (json_integer_value(json_object_get(j, "next_at")) - refresher_now_ms()) /
                                        1000);
        }
        if (json_is_integer(json_object_get(j, "next_at")))
                next_at(run, json_integer_value(json_object_get(j, "next_at")));
        json_decref(j);
}

static void hold_plugin(RevokeRun *run, size_t i, int64_t retry_after_ms) {
        Refresher *r = run->r;
        PluginConf *p = &r->plugins[i];
        p->revoke_failures++;
        int64_t hold = retry_after_ms > 0 ? retry_after_ms : refresher_backoff_ms(r, p->revoke_failures);
        int64_t now = refresher_now_ms();
        if (now + hold > p->revoke_hold_until_ms)
                p->revoke_hold_until_ms = now + hold;
        next_at(run, p->revoke_hold_until_ms);
}

static void job_finish(RevokeRun *run, RevokeJob *job, int curl_code) {
        ProviderResult res;
        provider_revoke_result(job->request, curl_code, &res);
        if (res.outcome == PROVIDER_OK) {
                run->r->plugins[job->plugin].revoke_failures = 0;
                end(run, job, NULL, res.detail);
                return;
        }
        if (res.outcome == PROVIDER_OAUTH_ERROR) {
                end(run, job, res.oauth_error, res.detail);
                return;
        }
        hold_plugin(run, job->plugin, res.retry_after_ms);
        end(run, job, res.kind ?: "server_error", res.detail);
}

static void job_free(RevokeJob *job) {
        if (!job)
                return;
        provider_request_free(job->request);
        free(job->user);
        free(job);
}

/* Take the revocation and start its request: 1 started, 0 not (gone,
 * refused, logged), -ENOMEM. */
static int job_start(RevokeRun *run, const Due *d) {
        Refresher *r = run->r;
        PluginConf *p = &r->plugins[d->plugin];
        Endpoint *ep = &run->ep[d->plugin];
        int k = 0;
        if (!ep->id)
                k = cv_secret_get(r->client, p->name, "client_id", &ep->id);
        if (k >= 0 && !ep->secret)
                k = cv_secret_get(r->client, p->name, "client_secret", &ep->secret);
        if (k < 0) {
                refresher_log("%s: client credentials: %s", p->name, cv_client_error_message(r->client));
                return 0;
        }
        const char *code;
        json_t *req = json_pack("{s:s, s:s, s:I}", "op", "token.revocation_begin", "plugin", p->name, "revocation",
                                (json_int_t) d->id);
        json_t *j = req ? call(r, req, &code) : NULL;
        if (!j)
                return 0; /* revoked or given up meanwhile (not_found), or logged */
        RevokeJob *job = calloc(1, sizeof(*job));
        const char *token = json_string_value(json_object_get(j, "token"));
        const char *hint = json_string_value(json_object_get(j, "token_type_hint"));
        const char *user = json_string_value(json_object_get(j, "user"));
        k = job && token && hint ? 0 : -ENOMEM;
        if (k >= 0) {
                job->plugin = d->plugin;
                job->id = d->id;
                job->user = strdup(user ?: "?");
                k = provider_revoke_new(p, (const char *) ep->url->value, token, hint, (const char *) ep->id->value,
                                        (const char *) ep->secret->value, &r->opt, job, &job->request);
        }
        json_decref(j); /* the token: the request body has its own copy */
        if (k >= 0 && curl_multi_add_handle(run->multi, provider_request_easy(job->request)) != CURLM_OK)
                k = -ENOMEM;
        if (k < 0) {
                /* Held off by the begin for a minute; tried again then. */
                refresher_log("%s: revocation %lld: cannot build the request: %s", p->name, (long long) d->id,
                              strerror(-k));
                job_free(job);
                return k == -ENOMEM ? k : 0;
        }
        job->next = run->jobs;
        run->jobs = job;
        run->in_flight++;
        return 1;
}

static void job_remove(RevokeRun *run, RevokeJob *job) {
        for (RevokeJob **pp = &run->jobs; *pp; pp = &(*pp)->next)
                if (*pp == job) {
                        *pp = job->next;
                        break;
                }
        curl_multi_remove_handle(run->multi, provider_request_easy(job->request));
        run->in_flight--;
}

static void collect_done(RevokeRun *run) {
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(run->multi, &left))) {
                if (m->msg != CURLMSG_DONE)
                        continue;
                ProviderRequest *req = NULL;
                curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **) &req);
                CURLcode code = m->data.result;
                RevokeJob *job = provider_request_userdata(req);
                job_remove(run, job);
                job_finish(run, job, code);
                job_free(job);
        }
}

static int run_jobs(RevokeRun *run) {
        Refresher *r = run->r;
        size_t next = 0;
        int k = 0;
        for (;;) {
                while (run->in_flight < r->opt.max_concurrent && next < run->n_due && !refresher_stopping()) {
                        const Due *d = &run->due[next++];
                        /* A plugin held by a failure meanwhile: its rows
                         * stay due, for when the hold ends. */
                        if (r->plugins[d->plugin].revoke_hold_until_ms > refresher_now_ms()) {
                                next_at(run, r->plugins[d->plugin].revoke_hold_until_ms);
                                continue;
                        }
                        k = job_start(run, d);
                        if (k < 0)
                                return k;
                }
                if (run->in_flight == 0)
                        return 0;
                int running = 0;
                if (curl_multi_perform(run->multi, &running) != CURLM_OK)
                        return -EIO;
                collect_done(run);
                if (run->in_flight > 0 && running > 0)
                        curl_multi_poll(run->multi, NULL, 0, 1000, NULL);
        }
}

int refresher_revoke_due(Refresher *r, int64_t now_ms, int64_t *ret_next_ms) {
        RevokeRun run = {
                .r = r,
                .ep = calloc(r->n_plugins + 1, sizeof(Endpoint)),
                .multi = curl_multi_init(),
                .next_ms = INT64_MAX,
        };
        uint64_t revoked = r->stats.revoked, failures = r->stats.revocation_failures;
        int k = run.ep && run.multi ? 0 : -ENOMEM;
        for (size_t i = 0; k >= 0 && i < r->n_plugins && !refresher_stopping(); i++) {
                if (endpoint_load(&run, i) <= 0)
                        continue;
                if (r->plugins[i].revoke_hold_until_ms > now_ms) {
                        next_at(&run, r->plugins[i].revoke_hold_until_ms);
                        continue;
                }
                int q = list_due(&run, i, now_ms);
                if (q == -ENOMEM)
                        k = q;
                else if (q < 0)
                        run.failed++; /* the daemon refused or is gone: the next scan tries again */
        }
        if (k >= 0)
                k = run_jobs(&run);
        /* Only when out of memory or curl broke: what is in flight is
         * abandoned; each row's begin holds it off for a minute. */
        while (run.jobs) {
                RevokeJob *job = run.jobs;
                job_remove(&run, job);
                job_free(job);
        }
        if (run.multi)
                curl_multi_cleanup(run.multi);
        for (size_t i = 0; run.ep && i < r->n_plugins; i++) {
                cv_secret_free(run.ep[i].url); /* wipes */
                cv_secret_free(run.ep[i].id);
                cv_secret_free(run.ep[i].secret);
        }
        free(run.ep);
        free(run.due);
        if (r->stats.revoked > revoked || r->stats.revocation_failures > failures)
                refresher_log("revocations: %llu revoked, %llu failed in %lld ms",
                              (unsigned long long) (r->stats.revoked - revoked),
                              (unsigned long long) (r->stats.revocation_failures - failures),
                              (long long) (refresher_now_ms() - now_ms));
        if (ret_next_ms)
                *ret_next_ms = run.next_ms;
        return k < 0 ? k : run.failed;
}
