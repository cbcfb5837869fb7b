/*
 * schema.h - JSON Schema draft-07 validation on jansson values: connector
 * configs against a connector's spec, records against a stream's schema,
 * any document against any schema (`validate --schema F --data F`).
 *
 * Ownership: schema_compile() takes its own reference on the schema document
 * (the caller keeps and releases its own); the compiled schema is freed with
 * schema_free() (NULL is fine).  Validation never changes the instance; the
 * caller owns the `errors` array and every error object appended to it.
 *
 * Each error is an object
 *   {"path": "/a/0/b",            JSON pointer into the instance ("" = root)
 *    "schema_path": "/properties/a/items/...",  JSON pointer into the schema
 *    "message": "expected integer, got string"}
 *
 * Supported: every draft-07 validation keyword, boolean schemas, $ref to
 * local JSON pointers (~0 ~1 and %-escapes), to "#" and to $id-named
 * subschemas (base URIs resolved per RFC 3986 inside the document), and to
 * the draft-07 meta-schema itself (built in).  Remote references are not
 * fetched: they are a compile error (-ENOENT).  Keys no keyword knows
 * (airbyte_secret, order, examples, title, ...) are ignored; so is "format"
 * (an annotation).  $ref loops that never consume any instance are cut at a
 * depth limit, and one validation visits a bounded number of subschemas
 * (shared $refs can make the work grow exponentially with the instance's
 * depth): past either, validation returns -ELOOP.
 *
 * Limits of "pattern": ECMA-262 patterns run on POSIX extended regular
 * expressions (regcomp, REG_EXTENDED).  \d \D \w \W \s \S, \t \n \r \f \v,
 * \xHH, \uHHHH, \/ and escaped punctuation are translated, as are (?:...)
 * and named groups (?<n>...) and lazy quantifiers (same match/no-match
 * answer).  Lookahead/lookbehind, back-references (glibc's matcher can
 * overflow its stack on them), patterns whose expanded size would make
 * regcomp() take seconds or gigabytes (nested counted repetitions) and
 * \D \W \S inside [...] are unsupported:
 * a compile error (-ENOTSUP), or, with SCHEMA_LAX_PATTERNS, a pattern that
 * matches everything.  "." and [^...] follow the current locale (bytes in
 * the C locale, characters in a UTF-8 locale).
 */
#ifndef AB_SCHEMA_H
#define AB_SCHEMA_H

#include <jansson.h>

struct schema;

/* Why a schema could not be compiled: message and JSON pointer in the schema. */
struct schema_error {
	char text[256];
	char path[256];
};

enum schema_flags {
	/* Patterns we cannot translate match everything instead of failing. */
	SCHEMA_LAX_PATTERNS = 1 << 0,
	/* Skip checking the document against the draft-07 meta-schema. */
	SCHEMA_NO_META_CHECK = 1 << 1,
};

/*
 * Compile doc (an object or a boolean) into *out.  0 on success; -EINVAL if
 * doc is not a valid draft-07 schema, -ENOENT for a $ref that does not
 * resolve (or is remote), -ENOTSUP for an untranslatable pattern, -ENOMEM.
 * err (may be NULL) says what and where on failure.
 */
int schema_compile(struct schema **out, const json_t *doc, struct schema_error *err);
int schema_compile_flags(struct schema **out, const json_t *doc, unsigned flags,
			 struct schema_error *err);
void schema_free(struct schema *s);

/*
 * Validate instance.  0 valid, 1 invalid (errors, if not NULL, gets one
 * object per violation appended; NULL stops at the first one), -ELOOP for
 * runaway $ref recursion or too much work, -ENOMEM.
 */
int schema_validate(const struct schema *s, const json_t *instance, json_t *errors);

/*
 * The check the driver runs before starting a connector: config against
 * spec, which is either a ConnectorSpecification ({"connectionSpecification":
 * {...}, ...}), a SPEC message ({"type": "SPEC", "spec": {...}}) or the
 * connectionSpecification itself.  Patterns are lax (a connector's spec must
 * not stop a sync because our regex engine is weaker).  Same returns as
 * schema_validate(), plus schema_compile()'s errors; on a compile error a
 * single error object describing it is appended to errors.
 */
int schema_validate_connector_config(const json_t *spec, const json_t *config, json_t *errors);

/* Deep equality as JSON Schema means it: 1 == 1.0, key order irrelevant. */
int schema_json_equal(const json_t *a, const json_t *b);

#endif
