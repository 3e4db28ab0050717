/* test-policy.c — daemon/policy/: the policy file's validation, the
 * decision per class and plugin, principals of each kind, admins by
 * default and by the file, rate limits and their token bucket.
 *
 * Built from the policy layer and what is under it (proto's op table,
 * identity's Peer). Callers are Peers made by hand: what the kernel would
 * have said, without needing those users and units on this machine. User
 * and group principals name accounts every system has (root) or that the
 * test finds (its own group, a group with listed members). */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "policy.h"
#include "unit-util.h"

/* The worked example of docs/security.md ("A worked example"), word for
 * word but for the operators' group, which the test replaces by its own
 * group ("@OPS@" below; the document says "plugin-ops"). */
static const char worked_example[] = "{\n"
                                     "  \"version\": 1,\n"
                                     "  \"rate_limit\": { \"rate\": 200, \"burst\": 400 },\n"
                                     "  \"principals\": {\n"
                                     "    \"unit:weather-api.service\": {\n"
                                     "      \"plugins\": { \"weather\": [\"read\", \"verify\", \"refresh\"] }\n"
                                     "    },\n"
                                     "    \"unit:todo-api.service\": {\n"
                                     "      \"plugins\": {\n"
                                     "        \"todo\": [\"read\", \"verify\", \"write\", \"refresh\"],\n"
                                     "        \"todo-*\": [\"read\", \"verify\"]\n"
                                     "      },\n"
                                     "      \"rate_limit\": { \"rate\": 1000, \"burst\": 2000 }\n"
                                     "    },\n"
                                     "    \"unit:gateway.service\": {\n"
                                     "      \"plugins\": { \"*\": [\"verify\"] }\n"
                                     "    },\n"
                                     "    \"group:@OPS@\": {\n"
                                     "      \"plugins\": { \"*\": [\"read\", \"write\"] }\n"
                                     "    },\n"
                                     "    \"uid:4000\": {\n"
                                     "      \"plugins\": { \"weather\": [\"admin\"] }\n"
                                     "    }\n"
                                     "  }\n"
                                     "}\n";

/* Ids no account on a test machine has. */
#define UID_STRANGER 4242
#define GID_STRANGER 4242

static Policy *parse_ok(const char *text) {
        char err[POLICY_ERROR_SIZE] = "";
        Policy *p = NULL;
        int r = policy_parse(text, strlen(text), &p, err, sizeof(err));
        if (r < 0)
                print_error("policy_parse: %s\n", err);
        assert_int_equal(r, 0);
        assert_non_null(p);
        return p;
}

/* The worked example with the operators' group replaced by ops_group. */
static Policy *parse_worked_example(const char *ops_group) {
        char text[sizeof(worked_example) + 256];
        const char *at = strstr(worked_example, "@OPS@");
        assert_non_null(at);
        snprintf(text, sizeof(text), "%.*s%s%s", (int) (at - worked_example), worked_example, ops_group, at + 5);
        return parse_ok(text);
}

/* The name of the test's own group (root's, as a rule). */
static const char *own_group(void) {
        struct group *g = getgrgid(getegid());
        assert_non_null(g);
        return g->gr_name;
}

static bool allowed(const Policy *p, const Peer *peer, Op op, const char *plugin) {
        return policy_check(p, peer, op, plugin).allowed;
}

static void test_op_classes_cover_op_table(void **state) {
        (void) state;
        for (int op = 0; op < _OP_MAX; op++) {
                PolicyClass c = policy_op_class(op);
                unsigned flags = op_flags(op);
                assert_true(c > _POLICY_CLASS_INVALID && c < _POLICY_CLASS_MAX);
                /* The class agrees with the op table's flags. */
                if (flags & OP_ADMIN)
                        assert_int_equal(c, POLICY_CLASS_ADMIN);
                if (c == POLICY_CLASS_READ || c == POLICY_CLASS_VERIFY)
                        assert_true((flags & OP_RETRY_SAFE) && !(flags & OP_WRITES));
                /* The refresher's one read of its own: what is pending revocation. */
                if (c == POLICY_CLASS_WRITE || (c == POLICY_CLASS_REFRESH && op != OP_TOKEN_REVOCATION_LIST))
                        assert_true(flags & OP_WRITES);
        }
        assert_int_equal(policy_op_class(_OP_MAX), _POLICY_CLASS_INVALID);

        /* The classes of the issue, op by op. */
        static const struct {
                const char *op;
                PolicyClass c;
        } expected[] = {
                { "health", POLICY_CLASS_PUBLIC },
                { "secret.get", POLICY_CLASS_READ },
                { "secret.list", POLICY_CLASS_READ },
                { "token.get", POLICY_CLASS_READ },
                { "token.list", POLICY_CLASS_READ },
                { "apikey.list", POLICY_CLASS_READ },
                { "plugin.get", POLICY_CLASS_READ },
                { "plugin.list", POLICY_CLASS_READ },
                { "manifest.auth", POLICY_CLASS_READ },
                { "secret.verify", POLICY_CLASS_VERIFY },
                { "apikey.lookup", POLICY_CLASS_VERIFY },
                { "oauth.verify_client", POLICY_CLASS_VERIFY },
                { "secret.put", POLICY_CLASS_WRITE },
                { "secret.generate", POLICY_CLASS_WRITE },
                { "secret.delete", POLICY_CLASS_WRITE },
                { "token.put", POLICY_CLASS_WRITE },
                { "token.delete", POLICY_CLASS_WRITE },
                { "apikey.put", POLICY_CLASS_WRITE },
                { "apikey.delete", POLICY_CLASS_WRITE },
                { "token.refresh_begin", POLICY_CLASS_REFRESH },
                { "token.refresh_commit", POLICY_CLASS_REFRESH },
                { "token.refresh_fail", POLICY_CLASS_REFRESH },
                { "plugin.register", POLICY_CLASS_ADMIN },
                { "plugin.delete", POLICY_CLASS_ADMIN },
                { "whoami", POLICY_CLASS_PUBLIC },
                { "audit.list", POLICY_CLASS_ADMIN },
                { "audit.verify", POLICY_CLASS_ADMIN },
                { "audit.prune", POLICY_CLASS_ADMIN },
                { "key.rotate", POLICY_CLASS_ADMIN },
                { "key.rewrap", POLICY_CLASS_ADMIN },
                { "key.status", POLICY_CLASS_ADMIN },
                { "key.retire", POLICY_CLASS_ADMIN },
                { "secret.rotate", POLICY_CLASS_WRITE },
                { "secret.promote", POLICY_CLASS_WRITE },
                { "secret.history", POLICY_CLASS_READ },
                { "key.rotate_root", POLICY_CLASS_ADMIN },
                { "key.recovery", POLICY_CLASS_ADMIN },
                { "backup", POLICY_CLASS_ADMIN },
                { "refresher.report", POLICY_CLASS_REFRESH },
                { "token.revocation_list", POLICY_CLASS_REFRESH },
                { "token.revocation_begin", POLICY_CLASS_REFRESH },
                { "token.revocation_end", POLICY_CLASS_REFRESH },
        };
        assert_int_equal(sizeof(expected) / sizeof(expected[0]), _OP_MAX);
        for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
                int op = op_from_string(expected[i].op);
                assert_true(op >= 0);
                assert_int_equal(policy_op_class(op), expected[i].c);
        }

        for (int c = _POLICY_CLASS_INVALID + 1; c < _POLICY_CLASS_MAX; c++)
                assert_int_equal(policy_class_from_string(policy_class_to_string(c)), c);
        assert_int_equal(policy_class_from_string("reed"), -EINVAL);
        assert_null(policy_class_to_string(_POLICY_CLASS_INVALID));
        assert_null(policy_class_to_string(_POLICY_CLASS_MAX));
}

static void test_worked_example(void **state) {
        Policy *p = parse_worked_example(own_group());
        Peer weather = { .uid = 990, .gid = 990, .pid = 100, .unit = (char *) "weather-api.service" };
        Peer todo = { .uid = 991, .gid = 991, .pid = 101, .unit = (char *) "todo-api.service" };
        Peer gateway = { .uid = 992, .gid = 992, .pid = 102, .unit = (char *) "gateway.service" };
        Peer deploy = { .uid = 4000, .gid = 4000, .pid = 103 };
        gid_t ops_groups[] = { getegid() };
        Peer operator= { .uid = UID_STRANGER, .gid = GID_STRANGER, .groups = ops_groups, .n_groups = 1 };
        Peer stranger = { .uid = UID_STRANGER, .gid = GID_STRANGER, .pid = 104, .unit = (char *) "other.service" };
        Peer root = { .uid = 0, .gid = 0, .pid = 1 };
        (void) state;

        /* weather-api: its own plugin's secrets and tokens, verify, refresh. */
        assert_true(allowed(p, &weather, OP_SECRET_GET, "weather"));
        assert_true(allowed(p, &weather, OP_TOKEN_GET, "weather"));
        assert_true(allowed(p, &weather, OP_SECRET_VERIFY, "weather"));
        assert_true(allowed(p, &weather, OP_TOKEN_REFRESH_BEGIN, "weather"));
        assert_true(allowed(p, &weather, OP_TOKEN_REFRESH_COMMIT, "weather"));
        assert_false(allowed(p, &weather, OP_SECRET_PUT, "weather"));
        assert_false(allowed(p, &weather, OP_TOKEN_PUT, "weather"));
        assert_false(allowed(p, &weather, OP_PLUGIN_REGISTER, "weather"));
        assert_false(allowed(p, &weather, OP_SECRET_GET, "todo"));
        assert_false(allowed(p, &weather, OP_SECRET_GET, "weather-beta"));
        assert_false(allowed(p, &weather, OP_SECRET_LIST, NULL)); /* over every plugin */
        assert_true(allowed(p, &weather, OP_HEALTH, NULL));

        /* todo-api: writes its own, reads and verifies its test plugins. */
        assert_true(allowed(p, &todo, OP_SECRET_PUT, "todo"));
        assert_true(allowed(p, &todo, OP_APIKEY_PUT, "todo"));
        assert_true(allowed(p, &todo, OP_TOKEN_REFRESH_FAIL, "todo"));
        assert_true(allowed(p, &todo, OP_SECRET_GET, "todo-beta"));
        assert_true(allowed(p, &todo, OP_APIKEY_LOOKUP, "todo-beta"));
        assert_false(allowed(p, &todo, OP_SECRET_PUT, "todo-beta"));
        assert_false(allowed(p, &todo, OP_SECRET_GET, "todolist")); /* "todo-*" is not "todo*" */
        assert_false(allowed(p, &todo, OP_SECRET_GET, "weather"));
        assert_false(allowed(p, &todo, OP_PLUGIN_DELETE, "todo"));

        /* gateway: checks presented credentials of every plugin, reads none. */
        assert_true(allowed(p, &gateway, OP_APIKEY_LOOKUP, "weather"));
        assert_true(allowed(p, &gateway, OP_OAUTH_VERIFY_CLIENT, "todo"));
        assert_true(allowed(p, &gateway, OP_SECRET_VERIFY, "anything"));
        assert_false(allowed(p, &gateway, OP_SECRET_GET, "weather"));
        assert_false(allowed(p, &gateway, OP_TOKEN_GET, "todo"));
        assert_false(allowed(p, &gateway, OP_SECRET_LIST, NULL));

        /* operators: read and write everything, no admin. */
        assert_true(allowed(p, &operator, OP_SECRET_PUT, "weather"));
        assert_true(allowed(p, &operator, OP_SECRET_LIST, NULL));
        assert_true(allowed(p, &operator, OP_PLUGIN_LIST, NULL));
        assert_false(allowed(p, &operator, OP_PLUGIN_REGISTER, "weather"));
        assert_false(allowed(p, &operator, OP_SECRET_VERIFY, "weather"));

        /* the deploy job (uid 4000): registers and removes weather only. */
        assert_true(allowed(p, &deploy, OP_PLUGIN_REGISTER, "weather"));
        assert_true(allowed(p, &deploy, OP_PLUGIN_DELETE, "weather"));
        assert_false(allowed(p, &deploy, OP_PLUGIN_REGISTER, "todo"));
        assert_false(allowed(p, &deploy, OP_SECRET_GET, "weather"));

        /* anyone else: nothing but health and whoami. */
        for (int op = 0; op < _OP_MAX; op++) {
                assert_int_equal(allowed(p, &stranger, op, "weather"), op == OP_HEALTH || op == OP_WHOAMI);
                assert_int_equal(allowed(p, &stranger, op, NULL), op == OP_HEALTH || op == OP_WHOAMI);
        }

        /* root: everything, as the file sets no "admins". */
        PolicyDecision d = policy_check(p, &root, OP_PLUGIN_DELETE, "todo");
        assert_true(d.allowed && d.admin);
        assert_int_equal(d.op_class, POLICY_CLASS_ADMIN);

        /* The decision says which class, and which entry allowed it. */
        d = policy_check(p, &todo, OP_SECRET_PUT, "todo");
        assert_true(d.allowed && !d.admin);
        assert_int_equal(d.op_class, POLICY_CLASS_WRITE);
        assert_string_equal(policy_principal_name(p, d.principal), "unit:todo-api.service");
        d = policy_check(p, &weather, OP_SECRET_PUT, "weather");
        assert_false(d.allowed);
        assert_int_equal(d.op_class, POLICY_CLASS_WRITE);
        assert_int_equal(d.principal, -1);

        /* Rate limits: todo-api's own, the file's default for the rest. */
        PolicyRateLimit rl = policy_rate_limit(p, policy_principal_find(p, &todo));
        assert_int_equal(rl.rate, 1000);
        assert_int_equal(rl.burst, 2000);
        rl = policy_rate_limit(p, policy_principal_find(p, &weather));
        assert_int_equal(rl.rate, 200);
        assert_int_equal(rl.burst, 400);
        assert_int_equal(policy_principal_find(p, &stranger), -1);
        rl = policy_rate_limit(p, -1);
        assert_int_equal(rl.rate, 200);
        assert_int_equal(policy_principal_count(p), 5);

        policy_free(p);
}

static void test_trailing_star(void **state) {
        Policy *p = parse_ok("{\"version\": 1, \"admins\": [], \"principals\": {"
                             "  \"uid:1\": {\"plugins\": {\"*\": [\"read\"]}},"
                             "  \"uid:2\": {\"plugins\": {\"acme.*\": [\"read\"], \"exact\": [\"write\"]}}}}");
        Peer all = { .uid = 1, .gid = GID_STRANGER }, some = { .uid = 2, .gid = GID_STRANGER };
        (void) state;

        assert_true(allowed(p, &all, OP_SECRET_GET, "x"));
        assert_true(allowed(p, &all, OP_SECRET_LIST, NULL));

        assert_true(allowed(p, &some, OP_SECRET_GET, "acme.mail"));
        assert_true(allowed(p, &some, OP_SECRET_GET, "acme.")); /* the prefix itself is a name */
        assert_false(allowed(p, &some, OP_SECRET_GET, "acme"));
        assert_false(allowed(p, &some, OP_SECRET_GET, "xacme.mail"));
        assert_false(allowed(p, &some, OP_SECRET_LIST, NULL)); /* only "*" covers every plugin */
        assert_true(allowed(p, &some, OP_SECRET_PUT, "exact"));
        assert_false(allowed(p, &some, OP_SECRET_PUT, "exactly"));
        assert_false(allowed(p, &some, OP_SECRET_PUT, "exac"));
        assert_false(allowed(p, &some, OP_SECRET_GET, "exact")); /* write is not read */
        policy_free(p);
}

static void test_unit_principal(void **state) {
        Policy *p = parse_ok("{\"version\": 1, \"principals\": {"
                             "  \"unit:weather-api.service\": {\"plugins\": {\"weather\": [\"read\"]}},"
                             "  \"unit:worker@.service\": {\"plugins\": {\"jobs\": [\"write\"]}}}}");
        Peer peer = { .uid = UID_STRANGER, .gid = GID_STRANGER, .pid = 7 };
        static const struct {
                const char *unit;
                bool weather, jobs;
        } cases[] = {
                { "weather-api.service", true, false },
                { "weather-api.socket", false, false },
                { "weather-api2.service", false, false },
                { "worker@1.service", false, true },
                { "worker@a-b.service", false, true },
                { "worker@.service", false, false }, /* a template runs nothing */
                { "worker.service", false, false },
                { "xworker@1.service", false, false },
                { "worker@1.socket", false, false },
        };
        (void) state;

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                peer.unit = (char *) cases[i].unit;
                assert_int_equal(allowed(p, &peer, OP_SECRET_GET, "weather"), cases[i].weather);
                assert_int_equal(allowed(p, &peer, OP_SECRET_PUT, "jobs"), cases[i].jobs);
        }
        /* A caller whose unit could not be verified has none. */
        peer.unit = NULL;
        assert_false(allowed(p, &peer, OP_SECRET_GET, "weather"));

        /* For rate limits an instance's own entry comes before a template. */
        Policy *q = parse_ok("{\"version\": 1, \"principals\": {"
                             "  \"unit:worker@.service\": {}, \"unit:worker@1.service\": {}}}");
        peer.unit = (char *) "worker@1.service";
        assert_string_equal(policy_principal_name(q, policy_principal_find(q, &peer)), "unit:worker@1.service");
        peer.unit = (char *) "worker@2.service";
        assert_string_equal(policy_principal_name(q, policy_principal_find(q, &peer)), "unit:worker@.service");
        policy_free(q);
        policy_free(p);
}

/* policy_check_unit(): the unit the service manager asks for (the
 * credential socket), whatever uid asked: only "unit:" entries count, and
 * only "unit:" admins; root and the daemon's uid are no admins of it. */
static void test_check_unit(void **state) {
        Policy *p = parse_ok("{\"version\": 1, \"principals\": {"
                             "  \"unit:todo-web.service\": {\"plugins\": {\"todo\": [\"read\"]}},"
                             "  \"unit:job@.service\": {\"plugins\": {\"jobs\": [\"read\"]}},"
                             "  \"unit:writer.service\": {\"plugins\": {\"todo\": [\"write\"]}},"
                             "  \"uid:0\": {\"plugins\": {\"*\": [\"read\"]}}}}");
        Policy *q = parse_ok("{\"version\": 1, \"admins\": [\"unit:ops.service\", \"uid:0\"], \"principals\": {}}");
        (void) state;

        assert_true(policy_check_unit(p, "todo-web.service", POLICY_CLASS_READ, "todo").allowed);
        assert_false(policy_check_unit(p, "todo-web.service", POLICY_CLASS_READ, "other").allowed);
        assert_false(policy_check_unit(p, "todo-web.service", POLICY_CLASS_WRITE, "todo").allowed);
        assert_true(policy_check_unit(p, "job@7.service", POLICY_CLASS_READ, "jobs").allowed);
        assert_false(policy_check_unit(p, "job@7.service", POLICY_CLASS_READ, "todo").allowed);
        /* Write does not include read. */
        assert_false(policy_check_unit(p, "writer.service", POLICY_CLASS_READ, "todo").allowed);
        /* uid:0 grants "*" to processes of root, not to units. */
        assert_false(policy_check_unit(p, "other.service", POLICY_CLASS_READ, "todo").allowed);
        PolicyDecision d = policy_check_unit(p, "other.service", POLICY_CLASS_READ, "todo");
        assert_false(d.admin);
        /* A unit admin is an admin; uid:0 among the admins is not the unit's. */
        d = policy_check_unit(q, "ops.service", POLICY_CLASS_READ, "todo");
        assert_true(d.allowed && d.admin);
        assert_false(policy_check_unit(q, "todo-web.service", POLICY_CLASS_READ, "todo").allowed);
        policy_free(q);
        policy_free(p);
}

static void test_uid_and_user_principal(void **state) {
        /* With no admins root is an ordinary caller, named as user or uid. */
        Policy *p = parse_ok("{\"version\": 1, \"admins\": [], \"principals\": {"
                             "  \"user:root\": {\"plugins\": {\"a\": [\"read\"]}},"
                             "  \"uid:4000\": {\"plugins\": {\"b\": [\"write\"]}}}}");
        Peer root = { .uid = 0, .gid = GID_STRANGER }, job = { .uid = 4000, .gid = 0 };
        (void) state;

        assert_true(allowed(p, &root, OP_SECRET_GET, "a"));
        assert_false(allowed(p, &root, OP_SECRET_GET, "b"));
        assert_false(allowed(p, &root, OP_SECRET_PUT, "a"));
        assert_true(allowed(p, &job, OP_SECRET_PUT, "b"));
        assert_false(allowed(p, &job, OP_SECRET_GET, "a")); /* gid 0 is not uid 0 */
        /* The unit does not matter to a uid principal. */
        job.unit = (char *) "anything.service";
        assert_true(allowed(p, &job, OP_SECRET_PUT, "b"));
        policy_free(p);
}

/* A group and a user NSS lists as its member, if this machine has one. */
static bool find_listed_member(char *ret_group, size_t group_size, uid_t *ret_uid, gid_t *ret_gid) {
        bool found = false;
        struct group *g;

        setgrent();
        while (!found && (g = getgrent()))
                for (char **m = g->gr_mem; m && *m && !found; m++) {
                        struct passwd *pw = getpwnam(*m);
                        /* A member whose own gid is not this group, so
                         * only the listing can make it one. */
                        if (pw && pw->pw_gid != g->gr_gid && strlen(g->gr_name) < group_size) {
                                snprintf(ret_group, group_size, "%s", g->gr_name);
                                *ret_uid = pw->pw_uid;
                                *ret_gid = g->gr_gid;
                                found = true;
                        }
                }
        endgrent();
        return found;
}

static void test_group_principal(void **state) {
        char text[1024], group[256];
        uid_t member_uid = 0;
        gid_t member_gid = 0;
        (void) state;

        snprintf(text, sizeof(text),
                 "{\"version\": 1, \"admins\": [], \"principals\": {"
                 "  \"group:%s\": {\"plugins\": {\"ops\": [\"read\"]}}}}",
                 own_group());
        Policy *p = parse_ok(text);
        gid_t groups[] = { 5000, getegid(), 5001 };
        Peer by_gid = { .uid = UID_STRANGER, .gid = getegid() };
        Peer by_supplementary = { .uid = UID_STRANGER, .gid = GID_STRANGER, .groups = groups, .n_groups = 3 };
        Peer outside = { .uid = UID_STRANGER, .gid = GID_STRANGER, .groups = groups, .n_groups = 1 };

        assert_true(allowed(p, &by_gid, OP_SECRET_GET, "ops"));
        assert_true(allowed(p, &by_supplementary, OP_SECRET_GET, "ops"));
        assert_false(allowed(p, &outside, OP_SECRET_GET, "ops"));
        assert_false(allowed(p, &by_gid, OP_SECRET_PUT, "ops"));
        policy_free(p);

        /* Listed as a member in NSS, neither its gid nor its groups say so. */
        if (!find_listed_member(group, sizeof(group), &member_uid, &member_gid))
                skip(); /* no group with a listed member on this machine */
        snprintf(text, sizeof(text),
                 "{\"version\": 1, \"admins\": [], \"principals\": {"
                 "  \"group:%s\": {\"plugins\": {\"ops\": [\"read\"]}}}}",
                 group);
        p = parse_ok(text);
        Peer listed = { .uid = member_uid, .gid = member_gid + 1 == 0 ? 1 : member_gid + 1 };
        Peer other = { .uid = UID_STRANGER, .gid = member_gid + 1 == 0 ? 1 : member_gid + 1 };
        assert_true(allowed(p, &listed, OP_SECRET_GET, "ops"));
        assert_false(allowed(p, &other, OP_SECRET_GET, "ops"));
        policy_free(p);
}

static void test_default_deny(void **state) {
        Policy *empty = parse_ok("{\"version\": 1}");
        Policy *none = NULL;
        Peer peer = { .uid = UID_STRANGER, .gid = GID_STRANGER, .pid = 9, .unit = (char *) "a.service" };
        (void) state;

        assert_int_equal(policy_new_default(&none), 0);
        for (int op = 0; op < _OP_MAX; op++) {
                PolicyDecision d = policy_check(empty, &peer, op, "a");
                assert_int_equal(d.allowed, op == OP_HEALTH || op == OP_WHOAMI);
                assert_false(d.admin);
                assert_int_equal(policy_check(none, &peer, op, "a").allowed, op == OP_HEALTH || op == OP_WHOAMI);
        }
        /* An op outside the table is denied, whoever asks. */
        Peer root = { .uid = 0 };
        assert_false(policy_check(empty, &root, _OP_MAX, "a").allowed);
        assert_false(policy_check_class(empty, &root, _POLICY_CLASS_INVALID, "a").allowed);
        assert_false(policy_check_class(empty, &peer, POLICY_CLASS_ADMIN, "a").allowed);
        assert_int_equal(policy_principal_find(empty, &peer), -1);
        PolicyRateLimit rl = policy_rate_limit(empty, -1);
        assert_int_equal(rl.rate, POLICY_RATE_DEFAULT);
        assert_int_equal(rl.burst, POLICY_BURST_DEFAULT);
        policy_free(empty);
        policy_free(none);
        policy_free(NULL);
}

/* Admin checks as a daemon running as uid `self` would see them. */
static bool admin_defaults_hold(uid_t self) {
        Policy *p = NULL;
        Peer root = { .uid = 0, .gid = 0 }, daemon = { .uid = self, .gid = GID_STRANGER };
        Peer other = { .uid = UID_STRANGER, .gid = 0 }; /* gid 0 makes no admin */
        bool ok = policy_new_default(&p) == 0;

        ok = ok && policy_check(p, &root, OP_PLUGIN_REGISTER, "x").admin;
        ok = ok && policy_check(p, &daemon, OP_SECRET_GET, "x").admin;
        ok = ok && policy_check(p, &daemon, OP_SECRET_LIST, NULL).allowed;
        ok = ok && policy_check_class(p, &daemon, POLICY_CLASS_ADMIN, NULL).allowed;
        ok = ok && !policy_check(p, &other, OP_SECRET_GET, "x").allowed;
        ok = ok && !policy_is_admin(p, &other);
        policy_free(p);
        return ok;
}

static void test_admins_by_default(void **state) {
        (void) state;
        if (geteuid() != 0) {
                assert_true(admin_defaults_hold(geteuid()));
                return;
        }
        assert_true(admin_defaults_hold(0));
        /* As root, also as a daemon with a uid of its own: in a child. */
        pid_t child = fork();
        assert_true(child >= 0);
        if (child == 0) {
                if (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
                        _exit(77);
                _exit(admin_defaults_hold(65534) ? 0 : 1);
        }
        int status;
        assert_int_equal(waitpid(child, &status, 0), child);
        assert_true(WIFEXITED(status));
        if (WEXITSTATUS(status) == 77)
                skip(); /* cannot drop to uid 65534 */
        assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_admins_restricted_by_policy(void **state) {
        Policy *p = parse_ok("{\"version\": 1, \"admins\": [\"uid:4000\", \"unit:vault-admin.service\"],"
                             " \"principals\": {\"uid:0\": {\"plugins\": {\"x\": [\"read\"]}}}}");
        Peer root = { .uid = 0, .gid = 0 }, self = { .uid = geteuid(), .gid = 0 };
        Peer listed = { .uid = 4000, .gid = 4000 };
        Peer unit = { .uid = UID_STRANGER, .gid = GID_STRANGER, .unit = (char *) "vault-admin.service" };
        (void) state;

        /* root keeps only what its entry grants. */
        assert_true(allowed(p, &root, OP_SECRET_GET, "x"));
        assert_false(allowed(p, &root, OP_SECRET_PUT, "x"));
        assert_false(allowed(p, &root, OP_PLUGIN_REGISTER, "x"));
        assert_false(policy_is_admin(p, &root));
        assert_false(policy_is_admin(p, &self));
        assert_true(policy_check(p, &listed, OP_PLUGIN_DELETE, "anything").admin);
        assert_true(policy_check(p, &unit, OP_SECRET_LIST, NULL).admin);
        policy_free(p);

        /* An empty list: nobody is admin. */
        p = parse_ok("{\"version\": 1, \"admins\": []}");
        assert_false(policy_is_admin(p, &root));
        assert_false(allowed(p, &root, OP_SECRET_GET, "x"));
        assert_true(allowed(p, &root, OP_HEALTH, NULL));
        policy_free(p);
}

static void test_validation_errors(void **state) {
        static const struct {
                const char *text, *message;
        } cases[] = {
                /* the file */
                { "{", "line 1 column 1: " },
                { "{\"version\": 1} x", "line 1 column" },
                { "[]", "the policy: expected an object, not an array" },
                { "{}", "version: missing" },
                { "{\"version\": 2}", "version: expected an integer from 1 to 1" },
                { "{\"version\": \"1\"}", "version: expected an integer from 1 to 1" },
                { "{\"version\": 1, \"principal\": {}}", "principal: unknown key" },
                { "{\"version\": 1, \"a\\u0001\\\"b\": 1}", "a??b: unknown key" },
                { "{\"version\": 1, \"principals\": {\"uid:1\": {}, \"uid:1\": {}}}", "duplicate object key" },
                /* admins */
                { "{\"version\": 1, \"admins\": \"uid:0\"}", "admins: expected an array of principals, not a string" },
                { "{\"version\": 1, \"admins\": [0]}", "admins[0]: expected a principal, not an integer" },
                { "{\"version\": 1, \"admins\": [\"root\"]}", "admins[0]: a principal is unit:NAME, user:NAME," },
                { "{\"version\": 1, \"admins\": [\"uid:0\", \"user:root\"]}", "admins[1]: the same as admins[0]" },
                { "{\"version\": 1, \"admins\": [\"user:no-such-user-cv\"]}", "admins[0]: no such user" },
                /* principals */
                { "{\"version\": 1, \"principals\": []}", "principals: expected an object of principals" },
                { "{\"version\": 1, \"principals\": {\"host:a\": {}}}", "principals[\"host:a\"]: a principal is" },
                { "{\"version\": 1, \"principals\": {\"unit:weather\": {}}}",
                  "principals[\"unit:weather\"]: not a unit name" },
                { "{\"version\": 1, \"principals\": {\"unit:a/b.service\": {}}}", "not a unit name" },
                { "{\"version\": 1, \"principals\": {\"unit:@a.service\": {}}}", "not a unit name" },
                { "{\"version\": 1, \"principals\": {\"unit:a@b@c.service\": {}}}", "not a unit name" },
                { "{\"version\": 1, \"principals\": {\"unit:.service\": {}}}", "not a unit name" },
                { "{\"version\": 1, \"principals\": {\"user:-x\": {}}}", "principals[\"user:-x\"]: not a user name" },
                { "{\"version\": 1, \"principals\": {\"user:123\": {}}}", "not a user name" },
                { "{\"version\": 1, \"principals\": {\"user:a b\": {}}}", "not a user name" },
                { "{\"version\": 1, \"principals\": {\"user:no-such-user-cv\": {}}}", "no such user" },
                { "{\"version\": 1, \"principals\": {\"group:no-such-group-cv\": {}}}", "no such group" },
                { "{\"version\": 1, \"principals\": {\"group:\": {}}}", "not a group name" },
                { "{\"version\": 1, \"principals\": {\"uid:-1\": {}}}", "principals[\"uid:-1\"]: not a uid" },
                { "{\"version\": 1, \"principals\": {\"uid:x\": {}}}", "not a uid" },
                { "{\"version\": 1, \"principals\": {\"uid:4294967295\": {}}}", "not a uid" },
                { "{\"version\": 1, \"principals\": {\"uid:+1\": {}}}", "not a uid" },
                { "{\"version\": 1, \"principals\": {\"user:root\": {}, \"uid:0\": {}}}",
                  "principals[\"uid:0\"]: the same principal as \"user:root\"" },
                { "{\"version\": 1, \"principals\": {\"uid:5\": []}}",
                  "principals[\"uid:5\"]: expected an object, not an array" },
                { "{\"version\": 1, \"principals\": {\"uid:5\": {\"plugin\": {}}}}",
                  "principals[\"uid:5\"].plugin: unknown key" },
                /* plugins and classes */
                { "{\"version\": 1, \"principals\": {\"uid:5\": {\"plugins\": [\"a\"]}}}",
                  "principals[\"uid:5\"].plugins: expected an object of plugin patterns" },
                { "{\"version\": 1, \"principals\": {\"uid:5\": {\"plugins\": {\"*x\": [\"read\"]}}}}",
                  "principals[\"uid:5\"].plugins[\"*x\"]: not a plugin name" },
                { "{\"version\": 1, \"principals\": {\"uid:5\": {\"plugins\": {\"a*b\": [\"read\"]}}}}",
                  "not a plugin name" },
                { "{\"version\": 1, \"principals\": {\"uid:5\": {\"plugins\": {\"**\": [\"read\"]}}}}",
                  "not a plugin name" },
                { "{\"version\": 1, \"principals\": {\"uid:5\": {\"plugins\": {\"\": [\"read\"]}}}}",
                  "plugins[\"\"]: not a plugin name" },
                { "{\"version\": 1, \"principals\": {\"uid:5\": {\"plugins\": {\"a b\": [\"read\"]}}}}",
                  "not a plugin name" },
                { "{\"version\": 1, \"principals\": {\"uid:5\": {\"plugins\": {\"a\": \"read\"}}}}",
                  "plugins[\"a\"]: expected an array of classes, not a string" },
                { "{\"version\": 1, \"principals\": {\"uid:5\": {\"plugins\": {\"a\": []}}}}",
                  "plugins[\"a\"]: grants nothing" },
                { "{\"version\": 1, \"principals\": {\"uid:5\": {\"plugins\": {\"a\": [1]}}}}",
                  "plugins[\"a\"][0]: expected a class name, not an integer" },
                { "{\"version\": 1, \"principals\": {\"uid:5\": {\"plugins\": {\"a\": [\"read\", \"reed\"]}}}}",
                  "principals[\"uid:5\"].plugins[\"a\"][1]: unknown class \"reed\"" },
                { "{\"version\": 1, \"principals\": {\"uid:5\": {\"plugins\": {\"a\": [\"public\"]}}}}",
                  "plugins[\"a\"][0]: unknown class \"public\"" },
                { "{\"version\": 1, \"principals\": {\"uid:5\": {\"plugins\": {\"a\": [\"read\", \"read\"]}}}}",
                  "plugins[\"a\"][1]: \"read\" twice" },
                /* rate limits */
                { "{\"version\": 1, \"rate_limit\": 5}", "rate_limit: expected an object {\"rate\": N, \"burst\": N}" },
                { "{\"version\": 1, \"rate_limit\": {\"rate\": 5}}", "rate_limit.burst: missing" },
                { "{\"version\": 1, \"rate_limit\": {\"rate\": 0, \"burst\": 5}}",
                  "rate_limit.rate: expected an integer from 1 to 1000000" },
                { "{\"version\": 1, \"rate_limit\": {\"rate\": 1.5, \"burst\": 5}}", "rate_limit.rate: expected" },
                { "{\"version\": 1, \"rate_limit\": {\"rate\": 5, \"burst\": 1000001}}",
                  "rate_limit.burst: expected an integer from 1 to 1000000" },
                { "{\"version\": 1, \"rate_limit\": {\"rate\": 5, \"burst\": 5, \"per\": 1}}",
                  "rate_limit.per: unknown key" },
                { "{\"version\": 1, \"principals\": {\"uid:5\": {\"rate_limit\": {\"rate\": -1, \"burst\": 1}}}}",
                  "principals[\"uid:5\"].rate_limit.rate: expected an integer" },
        };
        (void) state;

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char err[POLICY_ERROR_SIZE] = "";
                Policy *p = (Policy *) &cases; /* never written on failure */
                int r = policy_parse(cases[i].text, strlen(cases[i].text), &p, err, sizeof(err));
                if (r != -EBADMSG || !strstr(err, cases[i].message))
                        print_error("case %zu: %s\n  got %d \"%s\"\n  want \"%s\"\n", i, cases[i].text, r, err,
                                    cases[i].message);
                assert_int_equal(r, -EBADMSG);
                assert_non_null(strstr(err, cases[i].message));
                assert_ptr_equal(p, (Policy *) &cases);
        }

        /* A name just over the limit; a pattern of exactly the limit. */
        char text[512], name[NAME_SIZE_MAX + 2];
        memset(name, 'a', sizeof(name) - 1);
        name[sizeof(name) - 1] = '\0';
        snprintf(text, sizeof(text),
                 "{\"version\": 1, \"principals\": {\"uid:5\": {\"plugins\": {\"%s\": [\"read\"]}}}}", name);
        char err[POLICY_ERROR_SIZE];
        Policy *p = NULL;
        assert_int_equal(policy_parse(text, strlen(text), &p, err, sizeof(err)), -EBADMSG);
        assert_non_null(strstr(err, "...\"]: not a plugin name")); /* the key is cut short */
        name[NAME_SIZE_MAX - 1] = '*';
        name[NAME_SIZE_MAX] = '\0';
        snprintf(text, sizeof(text),
                 "{\"version\": 1, \"principals\": {\"uid:5\": {\"plugins\": {\"%s\": [\"read\"]}}}}", name);
        policy_free(parse_ok(text));
}

static void test_load_file(void **state) {
        char *dir = tmpdir_new(), err[POLICY_ERROR_SIZE];
        char *good = path_join(dir, "policy.json"), *big = path_join(dir, "big.json");
        Policy *p = NULL;
        (void) state;

        FILE *f = fopen(good, "we");
        assert_non_null(f);
        fputs("{\"version\": 1, \"principals\": {\"uid:5\": {\"plugins\": {\"a\": [\"read\"]}}}}", f);
        fclose(f);
        assert_int_equal(chmod(good, 0644), 0);
        assert_int_equal(policy_load(good, &p, err, sizeof(err)), 0);
        Peer peer = { .uid = 5, .gid = GID_STRANGER };
        assert_true(allowed(p, &peer, OP_SECRET_GET, "a"));
        policy_free(p);
        p = NULL;

        /* Whoever could write it could make themselves admin. */
        assert_int_equal(chmod(good, 0664), 0);
        assert_int_equal(policy_load(good, &p, err, sizeof(err)), -EPERM);
        assert_non_null(strstr(err, "writable by group or others"));
        assert_int_equal(chmod(good, 0646), 0);
        assert_int_equal(policy_load(good, &p, err, sizeof(err)), -EPERM);
        assert_int_equal(chmod(good, 0600), 0);
        if (geteuid() == 0) {
                assert_int_equal(chown(good, 65534, 65534), 0);
                assert_int_equal(policy_load(good, &p, err, sizeof(err)), -EPERM);
                assert_non_null(strstr(err, "owned by uid 65534"));
        }
        assert_null(p);

        assert_int_equal(policy_load(dir, &p, err, sizeof(err)), -EINVAL);
        char *missing = path_join(dir, "missing.json");
        assert_int_equal(policy_load(missing, &p, err, sizeof(err)), -ENOENT);
        free(missing);

        f = fopen(big, "we");
        assert_non_null(f);
        fputs("{\"version\": 1}", f);
        for (int i = 0; i < POLICY_FILE_SIZE_MAX; i += 64)
                fputs("                                                                ", f);
        fclose(f);
        assert_int_equal(chmod(big, 0644), 0);
        assert_int_equal(policy_load(big, &p, err, sizeof(err)), -EFBIG);
        assert_null(p);

        free(good);
        free(big);
        tmpdir_remove(dir);
}

static void test_rate_limit_principal(void **state) {
        char text[1024];
        snprintf(text, sizeof(text),
                 "{\"version\": 1, \"principals\": {"
                 "  \"group:%s\": {\"rate_limit\": {\"rate\": 1, \"burst\": 2}},"
                 "  \"uid:77\": {\"rate_limit\": {\"rate\": 3, \"burst\": 4}},"
                 "  \"unit:a.service\": {\"rate_limit\": {\"rate\": 5, \"burst\": 6}},"
                 "  \"unit:b.service\": {}}}",
                 own_group());
        Policy *p = parse_ok(text);
        Peer unit_a = { .uid = 77, .gid = getegid(), .unit = (char *) "a.service" };
        Peer unit_b = { .uid = 77, .gid = getegid(), .unit = (char *) "b.service" };
        Peer uid_only = { .uid = 77, .gid = getegid() };
        Peer group_only = { .uid = UID_STRANGER, .gid = getegid() };
        (void) state;

        /* The most specific entry: unit, then uid, then group. */
        int k = policy_principal_find(p, &unit_a);
        assert_string_equal(policy_principal_name(p, k), "unit:a.service");
        assert_int_equal(policy_rate_limit(p, k).rate, 5);
        /* An entry without a limit of its own has the default, even when
         * a less specific one has one. */
        k = policy_principal_find(p, &unit_b);
        assert_string_equal(policy_principal_name(p, k), "unit:b.service");
        assert_int_equal(policy_rate_limit(p, k).rate, POLICY_RATE_DEFAULT);
        assert_int_equal(policy_rate_limit(p, k).burst, POLICY_BURST_DEFAULT);
        k = policy_principal_find(p, &uid_only);
        assert_string_equal(policy_principal_name(p, k), "uid:77");
        assert_int_equal(policy_rate_limit(p, k).burst, 4);
        k = policy_principal_find(p, &group_only);
        assert_int_equal(policy_rate_limit(p, k).rate, 1);
        assert_null(policy_principal_name(p, -1));
        assert_null(policy_principal_name(p, 99));
        policy_free(p);
}

static void test_rate_bucket(void **state) {
        PolicyRateLimit l = { .rate = 4, .burst = 3 };
        PolicyRateBucket b;
        uint64_t t = 1000000, retry = 0;
        (void) state;

        /* A full bucket: burst requests at once, then one each 1/rate s. */
        policy_rate_init(&b, l, t);
        for (int i = 0; i < 3; i++)
                assert_int_equal(policy_rate_take(&b, l, t, &retry), 0);
        assert_int_equal(policy_rate_take(&b, l, t, &retry), -EBUSY);
        assert_int_equal(retry, 250);
        /* A refusal takes nothing: the same wait, less what has passed. */
        assert_int_equal(policy_rate_take(&b, l, t + 100000, &retry), -EBUSY);
        assert_int_equal(retry, 150);
        assert_int_equal(policy_rate_take(&b, l, t + 249999, &retry), -EBUSY);
        assert_int_equal(retry, 1); /* never 0: the client would spin */
        assert_int_equal(policy_rate_take(&b, l, t + 250000, &retry), 0);
        assert_int_equal(policy_rate_take(&b, l, t + 250000, &retry), -EBUSY);

        /* Refills up to burst and no further. */
        t += 10 * 1000000;
        for (int i = 0; i < 3; i++)
                assert_int_equal(policy_rate_take(&b, l, t, &retry), 0);
        assert_int_equal(policy_rate_take(&b, l, t, &retry), -EBUSY);

        /* A clock that goes back refills nothing, then resumes. */
        assert_int_equal(policy_rate_take(&b, l, t - 5000000, &retry), -EBUSY);
        assert_int_equal(policy_rate_take(&b, l, t + 250000, &retry), 0);

        /* Exact with rates that do not divide a second: 3/s. */
        PolicyRateLimit three = { .rate = 3, .burst = 1 };
        policy_rate_init(&b, three, 0);
        assert_int_equal(policy_rate_take(&b, three, 0, &retry), 0);
        assert_int_equal(policy_rate_take(&b, three, 333333, &retry), -EBUSY);
        assert_int_equal(retry, 1);
        assert_int_equal(policy_rate_take(&b, three, 333334, &retry), 0);

        /* No overflow after a very long time, at the largest limits. */
        PolicyRateLimit max = { .rate = POLICY_RATE_MAX, .burst = POLICY_BURST_MAX };
        policy_rate_init(&b, max, 0);
        for (int i = 0; i < 10; i++)
                assert_int_equal(policy_rate_take(&b, max, 0, &retry), 0);
        assert_int_equal(policy_rate_take(&b, max, UINT64_MAX / 2, &retry), 0);
        assert_true(b.micro_tokens == (uint64_t) POLICY_BURST_MAX * 1000000 - 1000000);
        PolicyRateLimit slow = { .rate = 1, .burst = POLICY_BURST_MAX };
        policy_rate_init(&b, slow, 0);
        assert_int_equal(policy_rate_take(&b, slow, UINT64_MAX, &retry), 0);

        /* A reload to a smaller burst cuts a full bucket down to it. */
        PolicyRateLimit big = { .rate = 1, .burst = 100 }, small = { .rate = 1, .burst = 2 };
        policy_rate_init(&b, big, 0);
        assert_int_equal(policy_rate_take(&b, small, 0, &retry), 0);
        assert_int_equal(policy_rate_take(&b, small, 0, &retry), 0);
        assert_int_equal(policy_rate_take(&b, small, 0, &retry), -EBUSY);
        assert_int_equal(retry, 1000);
}

static void test_describe(void **state) {
        Policy *p = parse_worked_example(own_group());
        gid_t groups[] = { getegid(), 5000 };
        Peer todo = { .uid = 991,
                      .gid = 991,
                      .pid = 101,
                      .groups = groups,
                      .n_groups = 2,
                      .unit = (char *) "todo-api.service",
                      .pidfd = PEER_PIDFD_SOCKET };
        Peer root = { .uid = 0, .gid = GID_STRANGER, .pid = 1 }; /* not in the operators' group */
        json_t *d = NULL;
        (void) state;

        /* todo-api, also in the operators' group: both entries, merged. */
        assert_int_equal(policy_describe(p, &todo, &d), 0);
        assert_int_equal(json_integer_value(json_object_get(d, "uid")), 991);
        assert_int_equal(json_integer_value(json_object_get(d, "pid")), 101);
        assert_int_equal(json_array_size(json_object_get(d, "groups")), 2);
        assert_string_equal(json_string_value(json_object_get(d, "unit")), "todo-api.service");
        assert_string_equal(json_string_value(json_object_get(d, "pidfd")), "socket");
        assert_false(json_is_true(json_object_get(d, "admin")));
        assert_true(json_is_null(json_object_get(d, "admin_by")));
        json_t *principals = json_object_get(d, "principals");
        assert_int_equal(json_array_size(principals), 2);
        assert_string_equal(json_string_value(json_array_get(principals, 0)), "unit:todo-api.service");
        json_t *grants = json_object_get(d, "grants");
        assert_int_equal(json_array_size(grants), 3); /* todo, todo-*, * */
        json_t *g = json_array_get(grants, 0);
        assert_string_equal(json_string_value(json_object_get(g, "plugins")), "todo");
        char *classes = json_dumps(json_object_get(g, "classes"), JSON_COMPACT);
        assert_string_equal(classes, "[\"read\",\"verify\",\"write\",\"refresh\"]");
        free(classes);
        g = json_array_get(grants, 2);
        assert_string_equal(json_string_value(json_object_get(g, "plugins")), "*");
        json_t *rl = json_object_get(d, "rate_limit");
        assert_string_equal(json_string_value(json_object_get(rl, "principal")), "unit:todo-api.service");
        assert_int_equal(json_integer_value(json_object_get(rl, "rate")), 1000);
        json_decref(d);

        /* root: admin by default, no unit, no entry. */
        assert_int_equal(policy_describe(p, &root, &d), 0);
        assert_true(json_is_true(json_object_get(d, "admin")));
        assert_string_equal(json_string_value(json_object_get(d, "admin_by")), "root (default)");
        assert_true(json_is_null(json_object_get(d, "unit")));
        assert_true(json_is_null(json_object_get(d, "pidfd")));
        assert_int_equal(json_array_size(json_object_get(d, "grants")), 0);
        rl = json_object_get(d, "rate_limit");
        assert_true(json_is_null(json_object_get(rl, "principal")));
        assert_int_equal(json_integer_value(json_object_get(rl, "rate")), 200);
        json_decref(d);
        policy_free(p);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_op_classes_cover_op_table),
                cmocka_unit_test(test_worked_example),
                cmocka_unit_test(test_trailing_star),
                cmocka_unit_test(test_unit_principal),
                cmocka_unit_test(test_check_unit),
                cmocka_unit_test(test_uid_and_user_principal),
                cmocka_unit_test(test_group_principal),
                cmocka_unit_test(test_default_deny),
                cmocka_unit_test(test_admins_by_default),
                cmocka_unit_test(test_admins_restricted_by_policy),
                cmocka_unit_test(test_validation_errors),
                cmocka_unit_test(test_load_file),
                cmocka_unit_test(test_rate_limit_principal),
                cmocka_unit_test(test_rate_bucket),
                cmocka_unit_test(test_describe),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
