/*
 * pg_value: PostgreSQL column types -> Airbyte JSON Schema, and values in
 * COPY ... TO STDOUT text format -> JSON.
 *
 * The session runs with DateStyle=ISO, TimeZone=UTC, bytea_output=hex,
 * extra_float_digits=3 and client_encoding=UTF8 (source_postgres.c sets
 * them), which is what the converters expect.
 */
#ifndef PG_VALUE_H
#define PG_VALUE_H

#include <jansson.h>
#include <stddef.h>

#include "../kit/ck_buf.h"

enum pgv_kind {
	PGV_STRING,   /* text, varchar, uuid, enums, intervals, ... */
	PGV_INT,      /* int2, int4, int8, oid */
	PGV_FLOAT,    /* float4, float8: NaN/Infinity become strings */
	PGV_NUMERIC,  /* numeric: the exact text, unquoted; NaN/Infinity strings */
	PGV_BOOL,
	PGV_TSTZ,     /* timestamptz -> 2024-01-02T03:04:05.123456Z */
	PGV_TS,       /* timestamp   -> 2024-01-02T03:04:05.123456 */
	PGV_DATE,
	PGV_TIME,
	PGV_TIMETZ,   /* 03:04:05+05:30; +05 becomes +05:00 */
	PGV_JSON,     /* json, jsonb: the JSON value itself */
	PGV_BYTEA,    /* base64 string */
	PGV_ARRAY,    /* JSON array of the element kind (multi-dimensional nests) */
};

/* Kind of a base type name (pg_type.typname); typcategory 'A' -> array. */
enum pgv_kind pgv_kind_of(const char *typname, char typcategory);
/* A new JSON Schema for a column of that kind (elem: the array element). */
json_t *pgv_schema(enum pgv_kind kind, enum pgv_kind elem);
/* Whether a column of this kind can be an incremental cursor. */
int pgv_cursor_ok(enum pgv_kind kind);

/*
 * Undo COPY text-format escaping (\\, \t, \n, \r, \b, \f, \v, \NNN octal,
 * \xHH) of s[0..n) into out (reset first).
 */
int pgv_unescape(struct ck_buf *out, const char *s, size_t n);

/*
 * Append the JSON value of one COPY text field s[0..n) (still escaped; the
 * field "\N" is SQL NULL -> null).
 */
int pgv_emit_field(struct ck_buf *b, enum pgv_kind kind, enum pgv_kind elem,
		   const char *s, size_t n);
/* Same for a value that is already unescaped (never NULL). */
int pgv_emit_clean(struct ck_buf *b, enum pgv_kind kind, enum pgv_kind elem,
		   const char *s, size_t n);

#endif
