/* record.h — what a stored value is, shared by the envelope and the store.
 *
 * A record is named by its kind, plugin, name (a secret's name, or the user
 * id of a token set or an API key) and version. The envelope binds this identity into every
 * ciphertext; the store uses it as the row's key. */
#pragma once

#include <stdint.h>

typedef enum RecordKind {
        RECORD_SECRET,
        RECORD_TOKEN,
        RECORD_APIKEY,
        _RECORD_KIND_MAX,
} RecordKind;

typedef struct RecordId {
        RecordKind kind;
        const char *plugin;
        const char *name;
        int64_t version;
} RecordId;
