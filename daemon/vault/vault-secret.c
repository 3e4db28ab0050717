/* vault-secret.c — a plugin's named secrets: put, get, delete, generate
 * (see vault.h). Their pending and previous versions are vault-stage.c's. */
#include <errno.h>
#include <sodium.h>
#include <string.h>

#include "vault-internal.h"

int vault_secret_put(Vault *v, const char *plugin, const char *name, const uint8_t *value, size_t size,
                     StoredRecord *ret_meta) {
        return vault_record_put(v, RECORD_SECRET, plugin, name, value, size, -1, ret_meta);
}

int vault_secret_get(Vault *v, const char *plugin, const char *name, SecretBuf **ret_value, StoredRecord *ret_meta) {
        return vault_record_get(v, RECORD_SECRET, plugin, name, ret_value, ret_meta);
}

/* Every stage goes: a secret deleted is deleted whole, its pending and
 * previous versions too. -ENOENT only if there was nothing at all. */
int vault_secret_delete(Vault *v, const char *plugin, const char *name) {
        int64_t staged = 0;
        int r = store_begin(v->store);
        if (r < 0)
                return r;
        r = store_record_delete(v->store, RECORD_SECRET, plugin, name);
        int q = store_stage_delete_all(v->store, plugin, name, &staged);
        if (q < 0)
                r = q;
        else if (r == -ENOENT && staged > 0)
                r = 0;
        r = vault_end(v, r);
        if (staged > 0)
                (void) vault_stage_refresh(v);
        return r;
}

int vault_secret_text_generate(size_t n_bytes, SecretBuf **ret) {
        _cleanup_(secret_buf_freep) SecretBuf *random = NULL, *text = NULL;
        int r;

        r = secret_buf_new(n_bytes, &random);
        if (r >= 0)
                r = secret_buf_new(sodium_base64_ENCODED_LEN(n_bytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING), &text);
        if (r < 0)
                return r;
        randombytes_buf(random->data, n_bytes);
        sodium_bin2base64((char *) text->data, text->size, random->data, n_bytes,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        text->size = strlen((const char *) text->data);
        *ret = TAKE_PTR(text);
        return 0;
}

int vault_secret_generate(Vault *v, const char *plugin, const char *name, size_t n_bytes, SecretBuf **ret_value,
                          StoredRecord *ret_meta) {
        _cleanup_(secret_buf_freep) SecretBuf *text = NULL;
        int r = vault_secret_text_generate(n_bytes, &text);
        if (r < 0)
                return r;
        r = vault_record_put(v, RECORD_SECRET, plugin, name, text->data, text->size, -1, ret_meta);
        if (r < 0)
                return r;
        *ret_value = TAKE_PTR(text);
        return 0;
}
