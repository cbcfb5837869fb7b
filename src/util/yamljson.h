/*
 * yamljson.h - read a YAML (or JSON: YAML is a superset in practice) file
 * into a jansson value.  Plain scalars get the YAML 1.2 core schema types
 * (null, true/false, integers, floats); quoted ones stay strings.  Anchors
 * and aliases are refused rather than half-supported.
 */
#ifndef AB_YAMLJSON_H
#define AB_YAMLJSON_H

#include <jansson.h>

#include "protocol/catalog.h" /* struct ab_error */

/* A new reference on success; NULL with err filled (text, line, column). */
json_t *yamljson_load_file(const char *path, struct ab_error *err);
json_t *yamljson_load_string(const char *text, size_t len, struct ab_error *err);

#endif
