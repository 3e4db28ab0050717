/* refresher-reports.h — what refreshers last said of each plugin's token
 * sets (refresher.report), in the daemon's memory.
 *
 * Owns: one report per plugin (the newest replaces the last), what a set's
 * next attempt is by it, and the sum of them for health. Why memory only:
 * a report decides nothing (the lease and the state do, in the database);
 * it is how token.list and status show the refresher's schedule, and a
 * refresher sends one after each pass, so a restarted daemon has it again
 * within one. Never: a token; the counts and times are all a report holds. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "json-out.h"
#include "proto-limits.h"
#include "record.h"
#include "request.h"

/* One per registered plugin at most; more than this many plugins' reports
 * replace the oldest (a deleted plugin's, or a stale one). */
#define REFRESHER_REPORTS_MAX 4096

typedef struct RefresherReportEntry {
        char plugin[NAME_SIZE_MAX + 1];
        int64_t received_at; /* unix ms */
        RefresherReport report;
} RefresherReportEntry;

typedef struct RefresherReports {
        RefresherReportEntry *items;
        size_t n, allocated;
} RefresherReports;

/* Keep report as plugin's newest. -ENOMEM. */
int refresher_reports_put(RefresherReports *rr, const char *plugin, const RefresherReport *report, int64_t now_ms);
const RefresherReportEntry *refresher_reports_get(const RefresherReports *rr, const char *plugin);
/* The plugin is gone: its report too. */
void refresher_reports_drop(RefresherReports *rr, const char *plugin);
void refresher_reports_done(RefresherReports *rr);

/* When the set t will next be tried (unix ms), by the refresher that
 * reported e (NULL: none did), 0 if that is not known or never
 * (reauth_required, no expiry): the retry its last failure was given,
 * else its expiry less the lead
 * (or, for a set that lives less than the lead, half its life after the
 * last attempt, as the refresher schedules it), never before a hold the
 * provider asked for. A report not renewed for two leads and ten minutes
 * counts as none. */
int64_t refresher_report_next_at(const RefresherReportEntry *e, const TokenInfo *t, int64_t now_ms);

/* health's "refresher" member: the reports summed (absent if none). */
void refresher_reports_health(const RefresherReports *rr, int64_t now_ms, JsonOut *reply);
