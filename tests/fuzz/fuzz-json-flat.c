/* fuzz-json-flat.c — the flat JSON reader against jansson.
 *
 * json-flat.h promises to accept a strict subset of what jansson accepts
 * and to read it the same. For every input, at nesting depth 0 and 1:
 *   - accepted by json-flat: jansson must accept it too (with duplicate
 *     keys refused, as the daemon parses), and agree on every member's
 *     key, type and value, and on the number of members at each level;
 *     the text must be unchanged but for a NUL over each closing quote;
 *   - refused: the text must be unchanged, and it must not be a flat
 *     object jansson reads (members only strings, integers, true, false,
 *     null, objects where the depth allows, at most FLAT_FIELDS_MAX
 *     entries, no backslash anywhere): json-flat claims that shape. Texts
 *     with a NUL byte are left out of this direction: jansson skips a NUL
 *     right after a number or literal ({"a":0<NUL>} reads as {"a":0}),
 *     which is jansson being lenient, not json-flat being strict. */
#include <inttypes.h>

#include "fuzz.h"
#include "json-flat.h"

/* The members of object (entry parent, or FLAT_TOP) against jansson's
 * object j; returns how many entries it and its nested objects have. */
static size_t check_object(const FlatValue *v, size_t n, size_t parent, json_t *j) {
        size_t members = 0, entries = 0;

        for (size_t i = 0; i < n; i++) {
                if (v[i].parent != parent)
                        continue;
                members++;
                entries++;
                FUZZ_CHECK(strlen(v[i].key) == v[i].key_size, "key '%s' not NUL-terminated at its size", v[i].key);
                json_t *m = json_object_get(j, v[i].key);
                FUZZ_CHECK(m, "member '%s' unknown to jansson", v[i].key);
                switch (v[i].type) {
                case FLAT_STRING:
                        FUZZ_CHECK(json_is_string(m), "'%s': a string to json-flat only", v[i].key);
                        FUZZ_CHECK(json_string_length(m) == v[i].str_size &&
                                           memcmp(json_string_value(m), v[i].str, v[i].str_size) == 0,
                                   "'%s': strings differ", v[i].key);
                        FUZZ_CHECK(v[i].str[v[i].str_size] == '\0', "'%s': string not NUL-terminated", v[i].key);
                        break;
                case FLAT_INTEGER:
                        FUZZ_CHECK(json_is_integer(m) && json_integer_value(m) == v[i].integer,
                                   "'%s': integer %" PRId64 " to json-flat", v[i].key, v[i].integer);
                        break;
                case FLAT_TRUE:
                        FUZZ_CHECK(json_is_true(m), "'%s': true to json-flat only", v[i].key);
                        break;
                case FLAT_FALSE:
                        FUZZ_CHECK(json_is_false(m), "'%s': false to json-flat only", v[i].key);
                        break;
                case FLAT_NULL:
                        FUZZ_CHECK(json_is_null(m), "'%s': null to json-flat only", v[i].key);
                        break;
                case FLAT_OBJECT:
                        FUZZ_CHECK(json_is_object(m), "'%s': an object to json-flat only", v[i].key);
                        FUZZ_CHECK(v[i].n_members == json_object_size(m), "'%s': %zu members, jansson %zu", v[i].key,
                                   v[i].n_members, json_object_size(m));
                        entries += check_object(v, n, i, m);
                        break;
                default:
                        FUZZ_CHECK(false, "type %d", (int) v[i].type);
                }
        }
        FUZZ_CHECK(members == json_object_size(j), "%zu members, jansson %zu", members, json_object_size(j));
        return entries;
}

/* Whether j has the shape json-flat reads at this depth; counts entries. */
static bool flat_shape(json_t *j, unsigned depth, size_t *entries) {
        const char *key;
        json_t *m;

        json_object_foreach(j, key, m) {
                (*entries)++;
                if (json_is_object(m)) {
                        if (depth == 0 || !flat_shape(m, depth - 1, entries))
                                return false;
                } else if (!json_is_string(m) && !json_is_integer(m) && !json_is_boolean(m) && !json_is_null(m))
                        return false;
        }
        return true;
}

static void check(const uint8_t *data, size_t size, unsigned depth) {
        FlatValue v[FLAT_FIELDS_MAX];
        json_error_t e;
        char *text = malloc(size ? size : 1);

        FUZZ_CHECK(text, "out of memory");
        memcpy(text, data, size);
        int n = json_flat_parse(text, size, v, depth);
        json_t *j = json_loadb((const char *) data, size, JSON_REJECT_DUPLICATES, &e);

        if (n >= 0) {
                FUZZ_CHECK(j, "json-flat (depth %u) accepted what jansson refuses: %s", depth, e.text);
                FUZZ_CHECK(json_is_object(j), "json-flat accepted a non-object");
                FUZZ_CHECK(n <= FLAT_FIELDS_MAX, "%d entries", n);
                size_t entries = check_object(v, (size_t) n, FLAT_TOP, j);
                FUZZ_CHECK(entries == (size_t) n, "%d entries returned, %zu found", n, entries);
                /* Unchanged but for the NULs over closing quotes. */
                for (int i = 0; i < n; i++) {
                        text[v[i].key + v[i].key_size - text] = '"';
                        if (v[i].type == FLAT_STRING)
                                text[v[i].str + v[i].str_size - text] = '"';
                }
                FUZZ_CHECK(memcmp(text, data, size) == 0, "json-flat changed more than closing quotes");
        } else {
                FUZZ_CHECK(n == -ENOTSUP, "json_flat_parse returned %d", n);
                FUZZ_CHECK(memcmp(text, data, size) == 0, "json-flat changed a text it refused");
                size_t entries = 0;
                FUZZ_CHECK(!(j && json_is_object(j) && flat_shape(j, depth, &entries) && entries <= FLAT_FIELDS_MAX &&
                             !memchr(data, '\\', size) && !memchr(data, '\0', size)),
                           "json-flat (depth %u) refused a flat object that jansson reads", depth);
        }
        json_decref(j);
        free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        check(data, size, 0);
        check(data, size, 1);
        return 0;
}
