/*
 * secrets.h - values that must never be shown: connector config fields the
 * connector's spec marks `airbyte_secret`.  Registered once per process;
 * every log line and every stored failure reason goes through
 * secrets_mask(), which replaces each occurrence with "**********".
 */
#ifndef AB_SECRETS_H
#define AB_SECRETS_H

#include <jansson.h>
#include <stddef.h>

#define SECRETS_MASK "**********"

/* Remember value (copied); values shorter than 3 bytes are ignored. */
void secrets_add(const char *value);
/* Forget all (tests). */
void secrets_clear(void);

/*
 * Copy in[0..len) to out (capacity cap, NUL-terminated) with secrets
 * replaced; returns the length written (cut to fit).
 */
size_t secrets_mask(const char *in, size_t len, char *out, size_t cap);
/* Mask a NUL-terminated string in place (it never grows past cap). */
void secrets_mask_inplace(char *s, size_t cap);

/*
 * Register every string value of config found under a property that spec
 * (a ConnectorSpecification or its connectionSpecification) marks
 * airbyte_secret, at any depth, including inside oneOf/anyOf/allOf.
 * Returns how many values were registered.
 */
int secrets_from_spec(const json_t *spec, const json_t *config);

#endif
