/* refresher-report.c — the report object of refresher.report, checked.
 *
 * Owns: which members a report has and their ranges. A report is a
 * refresher's word on its own schedule and counts: the daemon shows it
 * (token.list's next attempt, health) and decides nothing on it, but it
 * reaches every client that asks for health, so it is held to a fixed
 * shape: every member present, each an integer in range, nothing else.
 * Never: a string from the report in a reply or a message. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "request.h"
#include "utf8.h"

/* Counts since a refresher started: a year of refreshing 1,000 sets a
 * second stays well below. */
#define COUNT_MAX (INT64_C(1) << 48)
#define UNIX_MS_MAX (TOKEN_EXPIRES_AT_MAX * 1000)
#define LEAD_MAX (366 * 86400)

int request_check_refresher_report(json_t *report, RefresherReport *ret, char *errbuf, size_t errbuf_size) {
        RefresherReport rep = {};
        const struct {
                const char *name;
                int64_t *value;
                int64_t max;
        } members[] = {
                { "lead", &rep.lead, LEAD_MAX },
                { "started", &rep.started, UNIX_MS_MAX },
                { "last_run", &rep.last_run, UNIX_MS_MAX },
                { "next_run", &rep.next_run, UNIX_MS_MAX },
                { "hold_until", &rep.hold_until, UNIX_MS_MAX },
                { "refreshed", &rep.refreshed, COUNT_MAX },
                { "already_fresh", &rep.already_fresh, COUNT_MAX },
                { "reauth", &rep.reauth, COUNT_MAX },
                { "transient", &rep.transient, COUNT_MAX },
                { "oauth_errors", &rep.oauth_errors, COUNT_MAX },
                { "vault_errors", &rep.vault_errors, COUNT_MAX },
        };

        /* Every member known first, so that an unknown one is named as
         * such rather than as a missing one. */
        const char *key;
        json_t *v;
        json_object_foreach(report, key, v) {
                bool known = false;
                for (size_t i = 0; i < ELEMENTSOF(members) && !known; i++)
                        known = strcmp(key, members[i].name) == 0;
                if (!known) {
                        snprintf(errbuf, errbuf_size, "field 'report.%.*s': not a member of a report",
                                 (int) utf8_prefix_size(key, ERROR_FIELD_NAME_SIZE_MAX), key);
                        return -EBADMSG;
                }
        }
        for (size_t i = 0; i < ELEMENTSOF(members); i++) {
                v = json_object_get(report, members[i].name);
                if (!v) {
                        snprintf(errbuf, errbuf_size, "field 'report.%s': missing", members[i].name);
                        return -EBADMSG;
                }
                if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > members[i].max) {
                        snprintf(errbuf, errbuf_size, "field 'report.%s': must be an integer from 0 to %" PRId64,
                                 members[i].name, members[i].max);
                        return -EBADMSG;
                }
                *members[i].value = json_integer_value(v);
        }
        *ret = rep;
        return 0;
}
