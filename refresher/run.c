/* run.c — refreshing the sets that are due, a few requests at a time.
 *
 * For each due set, in turn, while fewer than max_concurrent requests are
 * in flight: take the lease (token.refresh_begin with min_valid = the
 * lead, so a set someone refreshed meanwhile comes back fresh instead),
 * read the plugin's client credentials, start the request. As requests
 * finish: commit the response (token.refresh_commit; a rotated refresh
 * token is stored, a missing one keeps the old), or fail the lease
 * (token.refresh_fail) so that nobody waits for it to run out:
 * invalid_grant makes the set reauth_required; anything transient backs
 * the set off, and the whole plugin while its provider is down or asked
 * to wait (Retry-After), so that a failing provider is not hammered. One
 * thread: curl's multi interface runs the requests, the daemon calls in
 * between are quick and synchronous. */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "provider.h"
#include "refresher.h"

/* The errors a failure is reported with when the provider gave none: each
 * leaves the set as it was and frees the lease for whoever asks next, and
 * is the set's last result in token.list. */
#define TRANSIENT_OAUTH_ERROR "temporarily_unavailable"
#define VAULT_ERROR "vault_error"       /* the vault refused the commit, or the client credentials */
#define INTERNAL_ERROR "internal_error" /* the request could not be built */

/* Counted for the refresher and for the set's plugin (its report). */
#define COUNT(r, s, field) ((r)->stats.field++, (r)->plugins[(s)->plugin].stats.field++)

typedef struct Job {
        struct Job *next, *prev; /* in flight */
        TokenSet *set;
        CvTokenLease *lease;
        ProviderRequest *request;
} Job;

/* A plugin's client credentials, read once a run (not once a set) and
 * wiped at its end. */
typedef struct Credentials {
        CvSecret *id, *secret;
} Credentials;

typedef struct Run {
        Refresher *r;
        Credentials *creds; /* by plugin index */
        CURLM *multi;
        unsigned in_flight;
        Job *jobs; /* in flight */
        int failed;
} Run;

static const char *plugin_name(Refresher *r, const TokenSet *s) {
        return r->plugins[s->plugin].name;
}

static void set_backoff(Run *run, TokenSet *s, int64_t retry_after_ms, bool provider_wide) {
        Refresher *r = run->r;
        PluginConf *p = &r->plugins[s->plugin];
        int64_t now = refresher_now_ms();
        s->failures++;
        int64_t delay = refresher_backoff_ms(r, s->failures);
        if (retry_after_ms > delay)
                delay = retry_after_ms;
        s->due_ms = now + delay;
        if (provider_wide) {
                p->failures++;
                int64_t hold = retry_after_ms > 0 ? retry_after_ms : refresher_backoff_ms(r, p->failures);
                if (now + hold > p->hold_until_ms)
                        p->hold_until_ms = now + hold;
        }
        s->handled = true;
}

/* Release the lease with the provider's error code (or the kind of a
 * transient failure), and say when this set is tried next (its due time,
 * set by set_backoff() first): token.list shows both. Through
 * cv_call_json(), as the library's cv_token_refresh_fail() has no
 * retry_at. */
static void lease_fail(Refresher *r, TokenSet *s, const CvTokenLease *lease, const char *error) {
        const char *plugin = plugin_name(r, s);
        json_t *req = json_pack("{s:i s:s s:s s:s s:s s:s}", "v", 1, "op", "token.refresh_fail", "plugin", plugin,
                                "user", s->user, "lease", lease->lease, "error", error);
        if (req && !s->dead && s->due_ms > 0)
                json_object_set_new(req, "retry_at", json_integer(s->due_ms));
        char *text = req ? json_dumps(req, JSON_COMPACT) : NULL, *reply = NULL;
        json_decref(req);
        int k = text ? cv_call_json(r->client, text, &reply) : -ENOMEM;
        cv_free_wiped(text, (size_t) -1); /* it holds the lease id */
        if (k < 0) {
                refresher_log("%s/%s: token.refresh_fail: %s", plugin, s->user, strerror(-k));
                return;
        }
        json_t *j = json_loads(reply, 0, NULL);
        cv_free_wiped(reply, (size_t) -1);
        json_t *error_obj = json_object_get(j, "error");
        const char *code = json_string_value(json_object_get(error_obj, "code"));
        const char *message = json_string_value(json_object_get(error_obj, "message"));
        /* A credvaultd from before retry_at refuses the field: the lease
         * is released all the same, the way it knows. */
        if (code && strcmp(code, "bad_request") == 0 && message && strstr(message, "'retry_at'")) {
                json_decref(j);
                int q = cv_token_refresh_fail(r->client, plugin, s->user, lease, error);
                if (q == 1)
                        s->dead = true;
                else if (q < 0 && q != -ENOENT)
                        refresher_log("%s/%s: token.refresh_fail: %s", plugin, s->user,
                                      cv_client_error_message(r->client));
                return;
        }
        /* not_found: the set was deleted meanwhile; nothing to release. */
        if (error_obj && (!code || strcmp(code, "not_found") != 0))
                refresher_log("%s/%s: token.refresh_fail: %s", plugin, s->user,
                              json_string_value(json_object_get(error_obj, "message")) ?: "invalid reply");
        const char *state = json_string_value(json_object_get(j, "state"));
        if (state && strcmp(state, "reauth_required") == 0)
                s->dead = true;
        json_decref(j);
}

/* Some providers send expires_in as a string ("3599"), which the vault
 * refuses (RFC 6749 says a number): refusing it would lose a rotated
 * refresh token, so it is made a number. NULL: nothing to change (or no
 * memory: then the response goes as it came). Free with cv_free_wiped(). */
static char *response_normalize(const char *body) {
        json_t *j = json_loads(body, 0, NULL);
        const char *in = json_string_value(json_object_get(j, "expires_in"));
        char *out = NULL;
        if (in && *in && strlen(in) <= 9 && strspn(in, "0123456789") == strlen(in)) {
                json_object_set_new(j, "expires_in", json_integer(atoll(in)));
                out = json_dumps(j, JSON_COMPACT);
        }
        json_decref(j);
        return out;
}

static void job_finish(Run *run, Job *job, int curl_code) {
        Refresher *r = run->r;
        TokenSet *s = job->set;
        PluginConf *p = &r->plugins[s->plugin];
        ProviderResult res;
        provider_request_result(job->request, curl_code, &res);

        if (res.outcome == PROVIDER_OK) {
                int64_t version = 0;
                char *normalized = response_normalize(res.body);
                int k = cv_token_refresh_commit(r->client, p->name, s->user, job->lease,
                                                normalized ? normalized : res.body, &version);
                cv_free_wiped(normalized, (size_t) -1);
                if (k >= 0) {
                        s->version = version;
                        s->failures = 0;
                        p->failures = 0;
                        s->handled = true;
                        COUNT(r, s, refreshed);
                        /* When it is due next, from the response (the daemon
                         * made the same expires_at of it, give or take the
                         * second); the next scan has the stored one. */
                        json_t *j = json_loads(res.body, 0, NULL);
                        json_t *in = json_object_get(j, "expires_in");
                        json_int_t secs = json_is_integer(in)  ? json_integer_value(in)
                                          : json_is_string(in) ? atoll(json_string_value(in))
                                                               : -1;
                        if (secs >= 0) {
                                int64_t now = refresher_now_ms();
                                s->expires_at = now / 1000 + secs;
                                s->due_ms = s->expires_at * 1000 - r->opt.lead_ms;
                                /* Tokens that live less than the lead would be
                                 * due again at once: refresh those at half their
                                 * life instead of hammering the provider. */
                                if (s->due_ms < now + secs * 500)
                                        s->due_ms = now + secs * 500;
                        } else
                                s->due_ms = refresher_now_ms() + r->opt.lead_ms;
                        json_decref(j);
                        if (r->opt.verbose)
                                refresher_log("%s/%s: refreshed (version %lld, expires at %lld)", p->name, s->user,
                                              (long long) version, (long long) s->expires_at);
                        return;
                }
                /* A rotated refresh token the vault would not take is lost:
                 * say so loudly; the lease is freed for the next attempt. */
                refresher_log("%s/%s: token.refresh_commit: %s", p->name, s->user, cv_client_error_message(r->client));
                COUNT(r, s, vault_errors);
                run->failed++;
                set_backoff(run, s, -1, false);
                if (k != -EEXIST)
                        lease_fail(r, s, job->lease, VAULT_ERROR);
                return;
        }
        run->failed++;
        if (res.outcome == PROVIDER_OAUTH_ERROR) {
                if (strcmp(res.oauth_error, "invalid_grant") == 0) {
                        COUNT(r, s, reauth);
                        refresher_log("%s/%s: %s: the user must authorize again", p->name, s->user, res.detail);
                        s->dead = true;
                        s->handled = true;
                        lease_fail(r, s, job->lease, res.oauth_error);
                        return;
                }
                /* invalid_client, unauthorized_client, ...: a configuration
                 * the operator must fix; back off as for a transient one. */
                COUNT(r, s, oauth_errors);
                refresher_log("%s/%s: %s", p->name, s->user, res.detail);
                set_backoff(run, s, res.retry_after_ms, false);
                lease_fail(r, s, job->lease, res.oauth_error);
                return;
        }
        COUNT(r, s, transient);
        set_backoff(run, s, res.retry_after_ms, true);
        lease_fail(r, s, job->lease, res.kind ?: TRANSIENT_OAUTH_ERROR);
        refresher_log("%s/%s: %s; next attempt in %lld ms", p->name, s->user, res.detail,
                      (long long) (s->due_ms - refresher_now_ms()));
}

static void job_free(Job *job) {
        if (!job)
                return;
        provider_request_free(job->request);
        cv_token_lease_free(job->lease);
        free(job);
}

/* Take the lease and start the request. 1: started; 0: nothing to do now
 * (fresh already, someone else's lease, reauth_required); -errno. */
static int job_start(Run *run, TokenSet *s) {
        Refresher *r = run->r;
        PluginConf *p = &r->plugins[s->plugin];
        CvTokenLease *lease = NULL;
        CvToken *fresh = NULL;
        /* The lease outlives the request, so that nobody takes it over while
         * the provider may still rotate the refresh token. */
        int lease_sec = (int) (r->opt.timeout_ms / 1000) + 15;
        int k = cv_token_refresh_begin(r->client, p->name, s->user, (int) (r->opt.lead_ms / 1000), lease_sec, &lease,
                                       &fresh);
        if (k == 0) {
                COUNT(r, s, already_fresh);
                s->version = fresh->version;
                s->expires_at = fresh->expires_at;
                s->due_ms = fresh->expires_at >= 0 ? fresh->expires_at * 1000 - r->opt.lead_ms
                                                   : refresher_now_ms() + r->opt.lead_ms;
                s->failures = 0;
                s->handled = true;
                cv_token_free(fresh);
                return 0;
        }
        if (k == -EALREADY) {
                /* A plugin (or another refresher) is refreshing it: look
                 * again when its lease may be over; it will be fresh then. */
                int64_t wait = cv_client_retry_after_ms(r->client);
                s->due_ms =
                        refresher_now_ms() + (wait > REFRESHER_LEASE_WAIT_MIN_MS ? wait : REFRESHER_LEASE_WAIT_MIN_MS);
                return 0;
        }
        if (k == -EKEYREVOKED || k == -ENOENT) {
                s->dead = true; /* nothing to refresh with, or gone: until the next scan says otherwise */
                s->handled = true;
                return 0;
        }
        if (k < 0) {
                /* The vault is unreachable or refused: try this set again
                 * later, the others now (they may work). */
                refresher_log("%s/%s: token.refresh_begin: %s", p->name, s->user, cv_client_error_message(r->client));
                COUNT(r, s, vault_errors);
                run->failed++;
                set_backoff(run, s, -1, false);
                return k == -ENOMEM ? k : 0;
        }

        Credentials *cr = &run->creds[s->plugin];
        Job *job = NULL;
        if (!cr->id)
                k = cv_secret_get(r->client, p->name, "client_id", &cr->id);
        if (k >= 0 && !cr->secret)
                k = cv_secret_get(r->client, p->name, "client_secret", &cr->secret);
        if (k < 0) {
                refresher_log("%s: client credentials: %s", p->name, cv_client_error_message(r->client));
                COUNT(r, s, vault_errors);
                set_backoff(run, s, -1, true);
                lease_fail(r, s, lease, VAULT_ERROR);
                cv_token_lease_free(lease);
                return 0;
        }
        job = calloc(1, sizeof(*job));
        if (!job)
                k = -ENOMEM;
        else {
                job->set = s;
                job->lease = lease;
                k = provider_request_new(p, lease->refresh_token, (const char *) cr->id->value,
                                         (const char *) cr->secret->value, &r->opt, job, &job->request);
        }
        if (k >= 0 && curl_multi_add_handle(run->multi, provider_request_easy(job->request)) != CURLM_OK)
                k = -ENOMEM;
        if (k < 0) {
                refresher_log("%s/%s: cannot build the request: %s", p->name, s->user, strerror(-k));
                set_backoff(run, s, -1, false);
                lease_fail(r, s, lease, INTERNAL_ERROR);
                if (job)
                        job_free(job);
                else
                        cv_token_lease_free(lease);
                return 0;
        }
        job->next = run->jobs;
        if (run->jobs)
                run->jobs->prev = job;
        run->jobs = job;
        run->in_flight++;
        if (run->in_flight > r->stats.max_in_flight)
                r->stats.max_in_flight = run->in_flight;
        return 1;
}

static void job_unlink(Run *run, Job *job) {
        if (job->prev)
                job->prev->next = job->next;
        else
                run->jobs = job->next;
        if (job->next)
                job->next->prev = job->prev;
        curl_multi_remove_handle(run->multi, provider_request_easy(job->request));
        run->in_flight--;
}

static void collect_done(Run *run) {
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(run->multi, &left))) {
                if (m->msg != CURLMSG_DONE)
                        continue;
                ProviderRequest *req = NULL;
                curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **) &req);
                CURLcode code = m->data.result;
                Job *job = provider_request_userdata(req);
                job_unlink(run, job);
                job_finish(run, job, code);
                job_free(job);
        }
}

static bool is_due(Refresher *r, const TokenSet *s, int64_t now_ms) {
        const PluginConf *p = &r->plugins[s->plugin];
        if (s->dead || p->refused[0] || s->due_ms > now_ms || p->hold_until_ms > now_ms)
                return false;
        return !(r->opt.once && s->handled);
}

int refresher_run_due(Refresher *r, int64_t now_ms) {
        Run run = { .r = r, .multi = curl_multi_init(), .creds = calloc(r->n_plugins + 1, sizeof(Credentials)) };
        if (!run.multi || !run.creds) {
                curl_multi_cleanup(run.multi);
                free(run.creds);
                return -ENOMEM;
        }
        r->stats.runs++;
        r->last_run_ms = now_ms;
        size_t next = 0;
        int k = 0;
        for (;;) {
                /* Fill the free slots; a set is started when a slot frees, so
                 * that its lease runs while its request does, not in a queue. */
                while (run.in_flight < r->opt.max_concurrent && next < r->n_sets && !refresher_stopping()) {
                        TokenSet *s = &r->sets[next++];
                        if (!is_due(r, s, now_ms) || r->plugins[s->plugin].hold_until_ms > refresher_now_ms())
                                continue;
                        k = job_start(&run, s);
                        if (k < 0)
                                goto out;
                }
                if (run.in_flight == 0)
                        break;
                int running = 0;
                if (curl_multi_perform(run.multi, &running) != CURLM_OK) {
                        k = -EIO;
                        goto out;
                }
                collect_done(&run);
                if (run.in_flight > 0 && running > 0)
                        curl_multi_poll(run.multi, NULL, 0, 1000, NULL);
        }
out:
        /* Only when out of memory or curl broke: abandon what is in flight;
         * the leases run out by themselves. (Stopping does not come here: a
         * request in flight is finished and committed, as the provider may
         * already have rotated the refresh token.) */
        while (run.jobs) {
                Job *job = run.jobs;
                job_unlink(&run, job);
                job_free(job);
        }
        curl_multi_cleanup(run.multi);
        for (size_t i = 0; i < r->n_plugins; i++) {
                cv_secret_free(run.creds[i].id); /* wipes */
                cv_secret_free(run.creds[i].secret);
        }
        free(run.creds);
        return k < 0 ? k : run.failed;
}
