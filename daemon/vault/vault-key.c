/* vault-key.c — KEK rotation, rewrap and retirement (see vault.h).
 *
 * Owns: the order of a rotation (the keyring's new primary and its row
 * together, or neither), the rewrap's batches and its state (running,
 * progress, rate; the meta row that makes a restart resume it), and the
 * checks before a KEK is retired. Never: opens a value. A rewrap
 * unwraps each DEK and wraps it again under the primary
 * (envelope_rewrap()); the value's ciphertext, the record's version and
 * times, and the metadata MACs (which do not cover the KEK) stay as they
 * are, so a crash between two batches leaves every record whole, on the
 * old KEK or on the new. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "time-util.h"
#include "vault-internal.h"

#define META_REWRAP "rewrap"
#define REWRAP_RUNNING "running"
#define REWRAP_IDLE "idle"
/* One rate sample at most this often; the ring spans a few seconds. */
#define RATE_SAMPLE_USEC (250 * 1000ULL)
#define N_RATE_SAMPLES ELEMENTSOF(((Vault *) NULL)->rewrap_samples)

static int meta_rewrap_set(Vault *v, const char *state) {
        return store_meta_set(v->store, META_REWRAP, (const uint8_t *) state, strlen(state));
}

static void rate_reset(Vault *v) {
        v->rewrap_n_samples = v->rewrap_next_sample = 0;
}

static void rate_sample(Vault *v, bool force) {
        uint64_t now = time_monotonic_usec();
        if (v->rewrap_n_samples > 0 && !force) {
                size_t last = (v->rewrap_next_sample + N_RATE_SAMPLES - 1) % N_RATE_SAMPLES;
                if (now < v->rewrap_samples[last].usec + RATE_SAMPLE_USEC)
                        return;
        }
        v->rewrap_samples[v->rewrap_next_sample] = (struct RewrapSample) { now, v->rewrap_done };
        v->rewrap_next_sample = (v->rewrap_next_sample + 1) % N_RATE_SAMPLES;
        if (v->rewrap_n_samples < N_RATE_SAMPLES)
                v->rewrap_n_samples++;
}

/* Records a second from the oldest sample kept to now. */
static double rate_of(const Vault *v) {
        if (!v->rewrap_running || v->rewrap_n_samples == 0)
                return 0;
        size_t oldest = v->rewrap_n_samples < N_RATE_SAMPLES ? 0 : v->rewrap_next_sample;
        const struct RewrapSample *o = &v->rewrap_samples[oldest];
        uint64_t now = time_monotonic_usec();
        if (now <= o->usec)
                return 0;
        return (double) (v->rewrap_done - o->done) * 1e6 / (double) (now - o->usec);
}

static void rewrap_begin(Vault *v, int64_t remaining) {
        v->rewrap_running = true;
        v->rewrap_done = 0;
        v->rewrap_remaining = remaining;
        v->rewrap_started_at = time(NULL);
        rate_reset(v);
        rate_sample(v, true);
}

static void tally_drop(Vault *v) {
        free(v->kek_tally);
        v->kek_tally = NULL;
        v->n_kek_tally = 0;
}

static void tally_move(Vault *v, int64_t from, int64_t to) {
        for (size_t i = 0; i < v->n_kek_tally; i++) {
                if (v->kek_tally[i].version == from && v->kek_tally[i].records > 0)
                        v->kek_tally[i].records--;
                else if (v->kek_tally[i].version == to)
                        v->kek_tally[i].records++;
        }
}

/* The tally's count of a KEK; -1 if it has none. */
static int64_t tally_of(const Vault *v, int64_t version) {
        for (size_t i = 0; i < v->n_kek_tally; i++)
                if (v->kek_tally[i].version == version)
                        return v->kek_tally[i].records;
        return -1;
}

void vault_key_free(Vault *v) {
        tally_drop(v);
}

int vault_key_load(Vault *v) {
        _cleanup_(freep) uint8_t *state = NULL;
        size_t size = 0;
        int64_t remaining = 0;

        int r = store_meta_get(v->store, META_REWRAP, &state, &size);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        if (size != strlen(REWRAP_RUNNING) || memcmp(state, REWRAP_RUNNING, size) != 0)
                return 0;
        r = store_kek_records_not(v->store, keyring_primary(v->keyring)->version, &remaining);
        if (r < 0)
                return r;
        rewrap_begin(v, remaining);
        return 0;
}

int vault_key_rotate(Vault *v, int64_t *ret_primary, int64_t *ret_previous) {
        uint8_t wrapped[KEK_WRAPPED_SIZE];
        _cleanup_(freep) StoredKek *keks = NULL;
        size_t n = 0;
        int64_t next = 1;

        int64_t previous = keyring_primary(v->keyring)->version;
        int r = store_kek_list(v->store, &keks, &n);
        if (r < 0)
                return r;
        /* Retired versions are never used again: their rows stay. */
        for (size_t i = 0; i < n; i++)
                if (keks[i].version >= next)
                        next = keks[i].version + 1;

        r = store_begin(v->store);
        if (r < 0)
                return r;
        r = keyring_kek_create(v->keyring, next, wrapped);
        if (r < 0)
                return vault_end(v, r);
        r = vault_end(v, store_kek_rotate(v->store, next, wrapped, sizeof(wrapped)));
        sodium_memzero(wrapped, sizeof(wrapped));
        if (r < 0) {
                /* Not stored: the ring is put back as the file has it. */
                (void) keyring_kek_set_primary(v->keyring, previous);
                (void) keyring_kek_drop(v->keyring, next);
                return r;
        }
        tally_drop(v);
        *ret_primary = next;
        *ret_previous = previous;
        return 0;
}

bool vault_key_rewrap_running(const Vault *v) {
        return v->rewrap_running;
}

static void rewrap_state(const Vault *v, VaultRewrap *ret) {
        *ret = (VaultRewrap) {
                .running = v->rewrap_running,
                .remaining = v->rewrap_remaining,
                .done = v->rewrap_done,
                .rate = rate_of(v),
                .started_at = v->rewrap_started_at,
                .damaged = v->rewrap_damaged,
                .first_damaged = v->rewrap_damaged ? v->rewrap_damaged_first : "",
        };
}

int vault_key_rewrap_start(Vault *v, VaultRewrap *ret) {
        int64_t remaining = 0;

        int r = store_kek_records_not(v->store, keyring_primary(v->keyring)->version, &remaining);
        if (r < 0)
                return r;
        if (v->rewrap_running) {
                v->rewrap_remaining = remaining;
                rewrap_state(v, ret);
                return 0;
        }
        /* Written even with nothing to move: the first step finds nothing
         * and ends it, so the row is never left saying running. */
        r = store_begin(v->store);
        if (r < 0)
                return r;
        r = vault_end(v, meta_rewrap_set(v, REWRAP_RUNNING));
        if (r < 0)
                return r;
        rewrap_begin(v, remaining);
        rewrap_state(v, ret);
        return 0;
}

/* Move one record onto the primary, inside the step's transaction. */
static const char *kind_name(RecordKind k) {
        return k == RECORD_SECRET ? "secret" : k == RECORD_TOKEN ? "token set" : "API key";
}

/* A secret's pending or previous version: the same identity rules, its
 * own row. */
static int rewrap_staged(Vault *v, const StoredRecordRef *ref, int64_t *ret_from) {
        _cleanup_(freep) uint8_t *sealed = NULL;
        StoredStage st = {};
        size_t size = 0;
        int64_t kek_version;

        int r = store_stage_get(v->store, ref->plugin, ref->name, ref->stage, &st);
        if (r < 0)
                return r;
        RecordId id = { .kind = RECORD_SECRET, .plugin = ref->plugin, .name = ref->name, .version = st.version };
        *ret_from = st.kek_version;
        r = envelope_rewrap(v->keyring, &id, st.sealed, st.sealed_size, &sealed, &size, &kek_version);
        if (r >= 0)
                r = store_stage_rewrap(v->store, ref->plugin, ref->name, ref->stage, st.version, kek_version, sealed,
                                       size);
        stored_stage_done(&st);
        return r;
}

static int rewrap_one(Vault *v, const StoredRecordRef *ref, int64_t *ret_from) {
        _cleanup_(freep) uint8_t *sealed = NULL;
        StoredRecord rec = {};
        size_t size = 0;
        int64_t kek_version;

        if (ref->revocation > 0)
                return vault_revocation_rewrap(v, ref, ret_from);
        if (ref->stage != RECORD_STAGE_CURRENT)
                return rewrap_staged(v, ref, ret_from);
        int r = store_record_get(v->store, ref->kind, ref->plugin, ref->name, &rec);
        if (r < 0)
                return r;
        RecordId id = { .kind = ref->kind, .plugin = ref->plugin, .name = ref->name, .version = rec.version };
        *ret_from = rec.kek_version;
        r = envelope_rewrap(v->keyring, &id, rec.sealed, rec.sealed_size, &sealed, &size, &kek_version);
        if (r >= 0)
                r = store_record_rewrap(v->store, ref->kind, ref->plugin, ref->name, rec.version, kek_version, sealed,
                                        size);
        stored_record_done(&rec);
        return r;
}

int vault_key_rewrap_step(Vault *v, unsigned batch, int64_t *ret_done, int64_t *ret_remaining) {
        StoredRecordRef *refs = NULL;
        size_t n = 0, moved = 0;
        int r;

        *ret_done = 0;
        *ret_remaining = 0;
        if (!v->rewrap_running)
                return 0;
        /* A lost batch is redone (its records are still on the old KEK,
         * which stays until nothing uses it: key.retire's own commit is
         * durable, and makes every batch before it so). */
        r = store_set_durable(v->store, false);
        if (r < 0)
                return r;
        r = store_begin(v->store);
        if (r < 0) {
                (void) store_set_durable(v->store, true);
                return r;
        }
        r = store_record_stale(v->store, keyring_primary(v->keyring)->version, batch, &refs, &n);
        /* A record that does not authenticate is left where it is and
         * named, not allowed to stop the rest: it would be found first by
         * every step. A step of nothing but such records ends the
         * rewrap. */
        int64_t damaged = 0;
        for (size_t i = 0; r >= 0 && i < n; i++) {
                int64_t from = 0;
                int q = rewrap_one(v, &refs[i], &from);
                if (q == -EUCLEAN) {
                        if (damaged++ == 0)
                                snprintf(v->rewrap_damaged_first, sizeof(v->rewrap_damaged_first), "%s%s %s/%s",
                                         kind_name(refs[i].kind),
                                         refs[i].revocation > 0                   ? " (revocation)"
                                         : refs[i].stage == RECORD_STAGE_PREVIOUS ? " (previous)"
                                         : refs[i].stage == RECORD_STAGE_PENDING  ? " (pending)"
                                                                                  : "",
                                         refs[i].plugin, refs[i].name);
                        continue;
                }
                r = q;
                if (r >= 0) {
                        moved++;
                        tally_move(v, from, keyring_primary(v->keyring)->version);
                }
        }
        v->rewrap_damaged = damaged;
        if (r >= 0 && n > 0 && moved == 0 && n == batch)
                r = -EUCLEAN;
        bool finished = r >= 0 && n < batch;
        if (finished)
                r = meta_rewrap_set(v, REWRAP_IDLE);
        r = vault_end(v, r);
        int q = store_set_durable(v->store, true);
        stored_record_refs_free(refs, n);
        if (r >= 0 && q < 0)
                r = q;
        if (r < 0) {
                /* Stopped here; the meta row resumes it at the next start.
                 * The batch rolled back: the tally moved it all the same. */
                v->rewrap_running = false;
                tally_drop(v);
                return r;
        }
        v->rewrap_done += (int64_t) moved;
        v->rewrap_remaining = finished                                ? 0
                              : v->rewrap_remaining > (int64_t) moved ? v->rewrap_remaining - (int64_t) moved
                                                                      : 1;
        rate_sample(v, false);
        if (finished) {
                v->rewrap_running = false;
                tally_drop(v);
        }
        *ret_done = (int64_t) moved;
        *ret_remaining = v->rewrap_remaining;
        return 0;
}

int vault_key_status(Vault *v, VaultKek **ret_keks, size_t *ret_n, VaultRewrap *ret_rewrap) {
        _cleanup_(freep) StoredKek *keks = NULL;
        VaultKek *out = NULL;
        size_t n = 0;
        int64_t not_primary = 0;
        int64_t primary = keyring_primary(v->keyring)->version;

        int r = store_kek_list(v->store, &keks, &n);
        if (r < 0)
                return r;
        /* While a rewrap runs, from the tally if it has every KEK. */
        bool tallied = v->rewrap_running && v->kek_tally;
        for (size_t i = 0; tallied && i < n; i++)
                if (keks[i].state != KEK_STATE_RETIRED && tally_of(v, keks[i].version) < 0)
                        tallied = false;
        out = calloc(n ?: 1, sizeof(VaultKek));
        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                out[i] = (VaultKek) {
                        .version = keks[i].version,
                        .state = store_kek_state_name(keks[i].state),
                        .created_at = keks[i].created_at,
                };
                if (keks[i].state != KEK_STATE_RETIRED) {
                        if (tallied)
                                out[i].records = tally_of(v, keks[i].version);
                        else
                                r = store_kek_records(v->store, keks[i].version, &out[i].records);
                }
                if (r < 0) {
                        free(out);
                        return r;
                }
                /* A retired KEK wraps nothing (key.retire checks it, and no
                 * write uses it after), and every record's kek_version names
                 * a KEK row: the sum is what store_kek_records_not() would
                 * count, without reading the kek_version indexes twice (at
                 * 1M records each reading holds the loop tens of ms). */
                if (keks[i].version != primary)
                        not_primary += out[i].records;
        }
        if (!tallied) {
                /* Exact now; the steps count down from here, and the next
                 * status while the rewrap runs answers from the tally. */
                v->rewrap_remaining = not_primary;
                tally_drop(v);
                if (v->rewrap_running) {
                        v->kek_tally = calloc(n ?: 1, sizeof(struct KekTally));
                        for (size_t i = 0; v->kek_tally && i < n; i++)
                                v->kek_tally[i] = (struct KekTally) { out[i].version, out[i].records };
                        v->n_kek_tally = v->kek_tally ? n : 0;
                }
        }
        rewrap_state(v, ret_rewrap);
        ret_rewrap->approximate = tallied;
        *ret_keks = out;
        *ret_n = n;
        return 0;
}

int vault_key_retire(Vault *v, int64_t version, int64_t *ret_records) {
        _cleanup_(freep) StoredKek *keks = NULL;
        const StoredKek *kek = NULL;
        size_t n = 0;
        int64_t records = 0;

        *ret_records = 0;
        int r = store_kek_list(v->store, &keks, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                if (keks[i].version == version)
                        kek = &keks[i];
        if (!kek)
                return -ENOENT;
        if (kek->state == KEK_STATE_RETIRED)
                return 0;
        if (kek->state == KEK_STATE_PRIMARY) {
                *ret_records = -1;
                return -EEXIST;
        }
        r = store_begin(v->store);
        if (r < 0)
                return r;
        r = store_kek_records(v->store, version, &records);
        if (r >= 0 && records > 0) {
                *ret_records = records;
                r = -EEXIST;
        }
        if (r >= 0)
                r = store_kek_retire(v->store, version);
        r = vault_end(v, r);
        if (r < 0)
                return r;
        (void) keyring_kek_drop(v->keyring, version);
        /* The row's old bytes are zeroed in the database (secure_delete);
         * older WAL frames still hold them until a checkpoint truncates it.
         * The retirement is done either way: a failure here only leaves
         * them until SQLite's next automatic checkpoint. */
        (void) store_checkpoint(v->store);
        return 0;
}
