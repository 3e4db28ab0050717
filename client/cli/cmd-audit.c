/* cmd-audit.c — credvault audit, audit verify, audit prune.
 *
 * Owns: the audit filters as the command line gives them (--principal
 * user:NAME resolved here to uid:N, a unit's bare name to unit:NAME),
 * walking every page of audit.list, one line per record (text, or the
 * daemon's JSON object as it came), and the answers of verify and prune.
 * Never: print a value (records carry none), or let a byte of a record
 * that is no printable character reach the terminal as it is. */
#include <errno.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "parse-util.h"

/* "uid:" and the largest uid, or "unit:" and a unit name the library
 * checks against its limit. */
#define PRINCIPAL_TEXT_SIZE (CV_AUDIT_PRINCIPAL_SIZE_MAX + 1)

static bool has_suffix(const char *s, const char *suffix) {
        size_t n = strlen(s), m = strlen(suffix);
        return n > m && strcmp(s + n - m, suffix) == 0;
}

/* --principal as the daemon takes it: "uid:N" or "unit:NAME". */
static int principal_resolve(const char *s, char buf[static PRINCIPAL_TEXT_SIZE]) {
        if (strncmp(s, "user:", 5) == 0) {
                struct passwd *p = getpwnam(s + 5);
                if (!p)
                        return cli_error(-EINVAL, "--principal: no user named '%s'", s + 5);
                snprintf(buf, PRINCIPAL_TEXT_SIZE, "uid:%u", (unsigned) p->pw_uid);
                return 0;
        }
        if (!strchr(s, ':') && (has_suffix(s, ".service") || has_suffix(s, ".scope"))) {
                if (strlen(s) + 5 >= PRINCIPAL_TEXT_SIZE)
                        return cli_error(-EINVAL, "--principal: unit name too long");
                snprintf(buf, PRINCIPAL_TEXT_SIZE, "unit:%s", s);
                return 0;
        }
        int64_t uid;
        if ((strncmp(s, "uid:", 4) == 0 && parse_int64(s + 4, 0, UINT32_MAX, &uid) >= 0) ||
            (strncmp(s, "unit:", 5) == 0 && s[5])) {
                if (strlen(s) >= PRINCIPAL_TEXT_SIZE)
                        return cli_error(-EINVAL, "--principal: too long");
                snprintf(buf, PRINCIPAL_TEXT_SIZE, "%s", s);
                return 0;
        }
        return cli_error(-EINVAL, "--principal: '%s' is not uid:N, user:NAME, unit:NAME or a unit's name", s);
}

/* s with every byte that is a control character shown as '?': a unit
 * name or user id comes from others, and must not drive the terminal. */
static void text_print(const char *s) {
        for (; *s; s++)
                putchar((unsigned char) *s < 0x20 || *s == 0x7f ? '?' : *s);
}

/* TIME  uid=U pid=P [unit=UNIT]  OP [PLUGIN[/OBJECT]]  RESULT[  revealed] */
static void record_print_text(json_t *rec) {
        char when[CLI_TIME_SIZE];
        const char *unit = json_string_value(json_object_get(rec, "unit"));
        const char *plugin = json_string_value(json_object_get(rec, "plugin"));
        const char *object = json_string_value(json_object_get(rec, "object"));

        printf("%s  uid=%" PRId64 " pid=%" PRId64,
               cli_time_format_usec(json_integer_value(json_object_get(rec, "time_us")), true, when),
               (int64_t) json_integer_value(json_object_get(rec, "uid")),
               (int64_t) json_integer_value(json_object_get(rec, "pid")));
        if (unit) {
                fputs(" unit=", stdout);
                text_print(unit);
        }
        fputs("  ", stdout);
        text_print(json_string_value(json_object_get(rec, "op")));
        if (plugin || object) {
                putchar(' ');
                if (plugin)
                        text_print(plugin);
                if (plugin && object)
                        putchar('/');
                if (object)
                        text_print(object);
        }
        fputs("  ", stdout);
        text_print(json_string_value(json_object_get(rec, "result")));
        if (json_is_true(json_object_get(rec, "revealed")))
                fputs("  revealed", stdout);
        putchar('\n');
}

/* One page's records (the library's JSON array text) on stdout. */
static int page_print(const Cli *cli, const char *records) {
        _cleanup_(cli_json_decrefp) json_t *array = json_loads(records, 0, NULL);
        json_t *rec;
        size_t i;

        if (!array)
                return cli_error(-ENOMEM, "out of memory");
        json_array_foreach(array, i, rec) {
                if (!cli->json) {
                        record_print_text(rec);
                        continue;
                }
                _cleanup_(freep) char *line = json_dumps(rec, JSON_COMPACT);
                if (!line)
                        return cli_error(-ENOMEM, "out of memory");
                printf("%s\n", line);
        }
        return 0;
}

int cmd_audit_ls(Cli *cli, char **args) {
        char principal[PRINCIPAL_TEXT_SIZE];
        _cleanup_(freep) char *after = NULL;
        CvAuditFilter filter = {
                .since = cli->since,
                .until = cli->until,
                .plugin = cli->plugin,
                .op = cli->op,
        };
        CvClient *c;
        int r;

        if (cli->principal) {
                r = principal_resolve(cli->principal, principal);
                if (r < 0)
                        return r;
                filter.principal = principal;
        }
        r = cli_connect(cli, &c);
        if (r < 0)
                return r;
        /* Page by page, printed as they come: the trail may be long. A
         * page may be empty and still not the last (the daemon reads a
         * bounded number of records a call, and a filter may match none
         * of them): only a NULL cursor ends the walk. */
        do {
                _cleanup_(freep) char *records = NULL;
                char *next = NULL;
                r = cv_audit_list_json(c, &filter, after, 0, &records, &next);
                if (r < 0)
                        return cli_error_call(c, r);
                free(after);
                after = next;
                r = page_print(cli, records);
                if (r < 0)
                        return r;
                /* A closed pipe (| head): stop asking; main.c says so. */
                if (ferror(stdout))
                        return 0;
        } while (after);
        return 0;
}

int cmd_audit_verify(Cli *cli, char **args) {
        CvAuditVerify v;
        CvClient *c;
        int r;

        r = cli_connect(cli, &c);
        if (r < 0)
                return r;
        r = cv_audit_verify(c, &v);
        if (r < 0)
                return cli_error_call(c, r);
        bool intact = r > 0;
        if (cli->json) {
                json_t *j = json_pack("{s:b s:I s:I s:I s:I}", "intact", intact, "records", (json_int_t) v.records,
                                      "anchor_seq", (json_int_t) v.anchor_seq, "first_seq", (json_int_t) v.first_seq,
                                      "last_seq", (json_int_t) v.last_seq);
                if (j && !intact &&
                    (json_object_set_new(j, "bad_seq", json_integer(v.bad_seq)) < 0 ||
                     json_object_set_new(j, "problem", json_string(v.problem)) < 0)) {
                        json_decref(j);
                        j = NULL;
                }
                r = cli_print_json(j);
                if (r < 0)
                        return r;
        } else if (intact) {
                printf("audit trail intact: %" PRId64 " record%s", v.records, v.records == 1 ? "" : "s");
                if (v.records > 0)
                        printf(" (seq %" PRId64 "..%" PRId64, v.first_seq, v.last_seq);
                if (v.anchor_seq > 0)
                        printf("%spruned through %" PRId64, v.records > 0 ? ", " : " (", v.anchor_seq);
                printf("%s\n", v.records > 0 || v.anchor_seq > 0 ? ")" : "");
        } else {
                printf("audit trail broken at record %" PRId64 ": ", v.bad_seq);
                text_print(v.problem);
                putchar('\n');
        }
        return intact ? 0 : CLI_EXIT_FAILURE;
}

int cmd_audit_prune(Cli *cli, char **args) {
        int64_t removed, anchor_seq;
        CvClient *c;
        int r;

        if (!cli_has(cli, CLI_OPT_BEFORE))
                return cli_error(-EINVAL, "audit prune needs --before T: the records older than T are removed");
        r = cli_connect(cli, &c);
        if (r < 0)
                return r;
        r = cv_audit_prune(c, cli->before, &removed, &anchor_seq);
        if (r < 0)
                return cli_error_call(c, r);
        if (cli->json)
                return cli_print_json(
                        json_pack("{s:I s:I}", "removed", (json_int_t) removed, "anchor_seq", (json_int_t) anchor_seq));
        printf("removed %" PRId64 " record%s; the chain now starts after record %" PRId64 "\n", removed,
               removed == 1 ? "" : "s", anchor_seq);
        return 0;
}
