/* fuzz-dispatch.c — the daemon's whole request path, in-process.
 *
 * Each input is what one connection sends. The first byte says how: with
 * its low bit clear, the rest is frame bodies separated by a line "#"
 * (FUZZ_SEPARATOR), each framed and sent in turn; with it set, the rest is
 * the raw byte stream, cut by frame_parse() exactly as a connection cuts
 * it (an empty frame answered and skipped, an oversized length answered
 * and the end of the stream). Every frame goes through dispatch_frame() (or
 * dispatch_frame_error()) with the real handlers, vault, keyring and
 * SQLite store, and every reply must be valid UTF-8 and a JSON object of
 * the shape docs/protocol.md gives (fuzz_check_reply()).
 *
 * Every input starts from the same vault: a database made once at start-up
 * (plugins registered from docs/protocol.md's examples, secrets, a token
 * set valid for a year and one long expired, an API key), copied to a fresh file and opened again after every
 * input that may have changed it (a write op that succeeded). So an input
 * that finds something finds it again alone. Audit records and log
 * lines go to stderr: run with -close_fd_mask=2 to keep them out of the
 * fuzzer's output (run-fuzz.sh does). */
#include <fcntl.h>
#include <sodium.h>

#include "dispatch.h"
#include "frame.h"
#include "fuzz.h"
#include "json-wipe.h"
#include "proto-limits.h"
#include "time-util.h"

#define ROOT_KEY_SIZE 32

static uint8_t root_key[ROOT_KEY_SIZE];
static char *db_path, *wal_path, *shm_path;
static uint8_t *template_db;
static size_t template_size;
static uint8_t reply_buf[FRAME_BODY_MAX];
static const Peer peer = { .uid = 1000, .gid = 1000, .pid = 4242 };
/* The peer may do everything, with no rate limit to speak of: the policy
 * is decided before any handler runs, and the handlers are what is
 * fuzzed here (the policy file has its own target). */
static const char policy_text[] = "{\"version\":1,\"principals\":{\"uid:1000\":{\"plugins\":{\"*\":"
                                  "[\"read\",\"verify\",\"write\",\"refresh\",\"admin\"]},"
                                  "\"rate_limit\":{\"rate\":1000000,\"burst\":1000000}}}}";
static Context fuzz_ctx;

static void context_init(void) {
        Policy *p = NULL;
        char err[POLICY_ERROR_SIZE];
        FUZZ_CHECK(policy_parse(policy_text, sizeof(policy_text) - 1, &p, err, sizeof(err)) >= 0, "policy: %s", err);
        FUZZ_CHECK(dispatch_policy_set(&fuzz_ctx, p) >= 0, "out of memory");
        fuzz_ctx.started_usec = time_monotonic_usec();
        fuzz_ctx.n_connections = 1;
}

static Vault *open_vault(void) {
        Vault *v = NULL;
        uint8_t *key = sodium_malloc(ROOT_KEY_SIZE);
        FUZZ_CHECK(key, "out of memory");
        memcpy(key, root_key, ROOT_KEY_SIZE);
        int r = vault_open(db_path, key, 0, &v, NULL);
        FUZZ_CHECK(r >= 0, "vault_open: %s", strerror(-r));
        return v;
}

/* Set when an input may have changed the vault: the next one starts from
 * a fresh copy of the template. */
static bool dirty = true;
static Vault *vault;

/* One request body through dispatch; the reply checked. Returns it. */
static const char *dispatch_one(Context *ctx, uint8_t *body, size_t size, size_t *ret_size) {
        JsonOut out;
        json_out_init(&out, (char *) reply_buf, sizeof(reply_buf));
        dispatch_frame(ctx, &peer, dispatch_principal(ctx, &peer), body, size, &out);
        FUZZ_CHECK(json_out_finish(&out) == 0, "a reply that does not fit a frame");
        fuzz_check_reply(out.buf, out.size);
        *ret_size = out.size;
        return out.buf;
}

/* A body in a buffer of exactly its size (a read past it is caught),
 * parsed in place. A write that succeeded leaves the vault dirty. */
static void dispatch_copy(Context *ctx, const uint8_t *body, size_t size) {
        JsonOut out;
        char error[ERROR_MESSAGE_SIZE_MAX];
        Request req;
        uint8_t *copy = malloc(size);

        FUZZ_CHECK(copy, "out of memory");
        memcpy(copy, body, size);
        json_out_init(&out, (char *) reply_buf, sizeof(reply_buf));
        dispatch_frame(ctx, &peer, dispatch_principal(ctx, &peer), copy, size, &out);
        FUZZ_CHECK(json_out_finish(&out) == 0, "a reply that does not fit a frame");
        bool ok = fuzz_check_reply(out.buf, out.size);
        if (ok && !dirty) {
                memcpy(copy, body, size);
                if (request_decode(copy, size, &req, error, sizeof(error)) < 0 || (op_flags(req.op) & OP_WRITES))
                        dirty = true;
                request_done(&req);
        }
        free(copy);
}

/* The stream's frames come from FUZZ_TAGS connections in turn, whose
 * writes join write groups (write-group.c): a held reply is released
 * once, and only a held one; a connection with a held reply sends no
 * more (its turn passes, or the group ends when every one waits). */
#define FUZZ_TAGS 4
static int tag_ids[FUZZ_TAGS];
static bool held[FUZZ_TAGS];

static void fuzz_release(void *userdata, void *tag, const JsonOut *replacement) {
        (void) userdata;
        ptrdiff_t i = (int *) tag - tag_ids;
        FUZZ_CHECK(i >= 0 && i < FUZZ_TAGS && held[i], "a release of a reply that is not held");
        held[i] = false;
        if (replacement)
                fuzz_check_reply(replacement->buf, replacement->size);
}

static void *next_tag(Context *ctx, unsigned *turn) {
        for (unsigned k = 0; k < FUZZ_TAGS; k++) {
                unsigned i = (*turn + k) % FUZZ_TAGS;
                if (!held[i]) {
                        *turn = i + 1;
                        return &tag_ids[i];
                }
        }
        dispatch_group_end(ctx);
        for (unsigned i = 0; i < FUZZ_TAGS; i++)
                FUZZ_CHECK(!held[i], "a held reply not released when its group ended");
        *turn = 1;
        return &tag_ids[0];
}

/* dispatch_copy() from a connection (tag) that can wait for its reply. */
static void dispatch_copy_tagged(Context *ctx, const uint8_t *body, size_t size, void *tag) {
        JsonOut out;
        char error[ERROR_MESSAGE_SIZE_MAX];
        Request req;
        uint8_t *copy = malloc(size);

        FUZZ_CHECK(copy, "out of memory");
        memcpy(copy, body, size);
        json_out_init(&out, (char *) reply_buf, sizeof(reply_buf));
        int r = dispatch_frame_fd(ctx, &peer, dispatch_principal(ctx, &peer), copy, size, -1, tag, &out);
        FUZZ_CHECK(r == 0 || r == DISPATCH_HELD, "dispatch_frame_fd: %d", r);
        if (r == DISPATCH_HELD)
                held[(int *) tag - tag_ids] = true;
        FUZZ_CHECK(json_out_finish(&out) == 0, "a reply that does not fit a frame");
        bool ok = fuzz_check_reply(out.buf, out.size);
        if (ok && !dirty) {
                memcpy(copy, body, size);
                if (request_decode(copy, size, &req, error, sizeof(error)) < 0 || (op_flags(req.op) & OP_WRITES))
                        dirty = true;
                request_done(&req);
        }
        free(copy);
}

static void dispatch_frame_error_one(Context *ctx, int error) {
        JsonOut out;
        json_out_init(&out, (char *) reply_buf, sizeof(reply_buf));
        dispatch_frame_error(ctx, &peer, error, &out);
        FUZZ_CHECK(json_out_finish(&out) == 0, "an error reply that does not fit a frame");
        fuzz_check_reply(out.buf, out.size);
}

/* The vault every input starts from. */
static const char *const setup_requests[] = {
        "{\"v\":1,\"id\":1,\"op\":\"plugin.register\",\"manifest\":{\"schema_version\":\"v1\",\"name_for_model\":"
        "\"todo\","
        "\"auth\":{\"type\":\"service_http\",\"authorization_type\":\"bearer\",\"verification_tokens\":{\"openai\":"
        "\"a8b0c2d4e6f8a1b3\"}},\"api\":{\"type\":\"openapi\",\"url\":\"https://todo.example.com/openapi.yaml\"}}}",
        "{\"v\":1,\"id\":2,\"op\":\"plugin.register\",\"manifest\":{\"schema_version\":\"v1\",\"name_for_model\":"
        "\"calendar\",\"auth\":{\"type\":\"oauth\",\"client_url\":\"https://cal.example.com/oauth/authorize\","
        "\"authorization_url\":\"https://cal.example.com/oauth/token\",\"scope\":\"events.read events.write\","
        "\"authorization_content_type\":\"application/x-www-form-urlencoded\",\"verification_tokens\":{\"openai\":"
        "\"e3f1a9c07b52d6e8\"}},\"api\":{\"type\":\"openapi\",\"url\":\"https://cal.example.com/openapi.yaml\"}}}",
        "{\"v\":1,\"id\":3,\"op\":\"plugin.register\",\"plugin\":\"weather\",\"domain\":\"weather.example.com\","
        "\"manifest\":{\"type\":\"user_http\",\"authorization_type\":\"basic\"}}",
        "{\"v\":1,\"id\":4,\"op\":\"secret.put\",\"plugin\":\"calendar\",\"name\":\"client_id\",\"value\":"
        "\"YXNzaXN0YW50LTdjMWY=\"}",
        "{\"v\":1,\"id\":5,\"op\":\"secret.put\",\"plugin\":\"calendar\",\"name\":\"client_secret\",\"value\":"
        "\"Y3NfOVFtMnZMeDRUeg==\"}",
        "{\"v\":1,\"id\":6,\"op\":\"secret.put\",\"plugin\":\"todo\",\"name\":\"service_token\",\"value\":"
        "\"czNjcjN0\"}",
        "{\"v\":1,\"id\":7,\"op\":\"secret.put\",\"plugin\":\"legacy-crm\",\"name\":\"api_key\",\"value\":"
        "\"Y3JtLWtleS0xMjM=\"}",
        "{\"v\":1,\"id\":8,\"op\":\"token.put\",\"plugin\":\"calendar\",\"user\":\"alice@example.com\",\"token\":{"
        "\"access_token\":\"at-1\",\"token_type\":\"Bearer\",\"expires_in\":31536000,\"refresh_token\":\"rt-1\"}}",
        "{\"v\":1,\"id\":9,\"op\":\"token.put\",\"plugin\":\"calendar\",\"user\":\"user-42\",\"token\":{"
        "\"access_token\":\"at-9\",\"token_type\":\"Bearer\",\"expires_at\":1000000000}}",
        "{\"v\":1,\"id\":10,\"op\":\"apikey.put\",\"plugin\":\"weather\",\"user\":\"user-42\",\"value\":"
        "\"a2V5LTE=\"}",
};

static int read_file(const char *path, uint8_t **ret, size_t *ret_size) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0) {
                if (fd >= 0)
                        close(fd);
                return -errno;
        }
        uint8_t *p = malloc((size_t) st.st_size + 1);
        FUZZ_CHECK(p, "out of memory");
        FUZZ_CHECK(read(fd, p, (size_t) st.st_size) == st.st_size, "short read of %s", path);
        close(fd);
        *ret = p;
        *ret_size = (size_t) st.st_size;
        return 0;
}

static void write_db(void) {
        unlink(wal_path);
        unlink(shm_path);
        int fd = open(db_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        FUZZ_CHECK(fd >= 0, "%s: %s", db_path, strerror(errno));
        FUZZ_CHECK(write(fd, template_db, template_size) == (ssize_t) template_size, "short write");
        close(fd);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        FUZZ_CHECK(sodium_init() >= 0, "sodium_init");
        json_wipe_install();
        unsetenv("JOURNAL_STREAM"); /* audit records as lines on stderr, never the journal */
        randombytes_buf(root_key, sizeof(root_key));
        FUZZ_CHECK(asprintf(&db_path, "%s/db", fuzz_tmpdir()) >= 0 && asprintf(&wal_path, "%s-wal", db_path) >= 0 &&
                           asprintf(&shm_path, "%s-shm", db_path) >= 0,
                   "out of memory");

        context_init();
        fuzz_ctx.vault = open_vault();
        fuzz_ctx.group.release = fuzz_release;
        for (size_t i = 0; i < sizeof(setup_requests) / sizeof(setup_requests[0]); i++) {
                size_t n = strlen(setup_requests[i]), reply_size;
                uint8_t *body = (uint8_t *) strdup(setup_requests[i]);
                FUZZ_CHECK(body, "out of memory");
                const char *reply = dispatch_one(&fuzz_ctx, body, n, &reply_size);
                FUZZ_CHECK(memmem(reply, reply_size, "\"ok\":true", 9), "set-up request %zu: %.*s", i, (int) reply_size,
                           reply);
                free(body);
        }
        vault_free(fuzz_ctx.vault);
        fuzz_ctx.vault = NULL;
        /* Closed: the write-ahead log is checkpointed into the file. */
        FUZZ_CHECK(access(wal_path, F_OK) < 0, "the template database kept a write-ahead log");
        FUZZ_CHECK(read_file(db_path, &template_db, &template_size) == 0, "cannot read the template database");
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 1)
                return 0;
        if (dirty) {
                vault_free(vault);
                write_db();
                vault = open_vault();
                dirty = false;
        }
        fuzz_ctx.vault = vault;
        Context *ctx = &fuzz_ctx;

        if (data[0] & 1) {
                /* The stream, cut as daemon/net/connection.c cuts it. */
                const uint8_t *stream = data + 1, *body;
                size_t n = size - 1, off = 0, body_size;
                unsigned turn = 0;
                while (off < n) {
                        int k = frame_parse(stream + off, n - off, &body, &body_size);
                        if (k == 0)
                                break;
                        if (k == -EMSGSIZE) {
                                dispatch_frame_error_one(ctx, k);
                                break;
                        }
                        if (k == -EBADMSG) {
                                dispatch_frame_error_one(ctx, k);
                                off += FRAME_HEADER_SIZE;
                                continue;
                        }
                        dispatch_copy_tagged(ctx, body, body_size, next_tag(ctx, &turn));
                        off += (size_t) k;
                }
                dispatch_group_end(ctx);
                for (unsigned i = 0; i < FUZZ_TAGS; i++)
                        FUZZ_CHECK(!held[i], "a held reply not released when its group ended");
        } else {
                const uint8_t *body;
                size_t pos = 1, body_size;
                while (fuzz_next_part(data, size, &pos, &body, &body_size)) {
                        if (body_size == 0) {
                                dispatch_frame_error_one(ctx, -EBADMSG);
                                continue;
                        }
                        if (body_size > FRAME_BODY_MAX) {
                                dispatch_frame_error_one(ctx, -EMSGSIZE);
                                break;
                        }
                        dispatch_copy(ctx, body, body_size);
                }
        }
        return 0;
}
