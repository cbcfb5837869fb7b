#include "util/yamljson.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "util/fs.h"

#define MAX_DEPTH 256

static void set_err(struct ab_error *err, const yaml_mark_t *m, const char *fmt, const char *arg)
{
	snprintf(err->text, sizeof(err->text), fmt, arg);
	err->line = m ? (int)m->line + 1 : 0;
	err->column = m ? (int)m->column + 1 : 0;
}

/* A plain scalar's value under the core schema. */
static json_t *plain_scalar(const char *s, size_t n)
{
	if (n == 0 || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL"))
		return json_null();
	if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
		return json_true();
	if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
		return json_false();
	char *end;
	errno = 0;
	long long i = strtoll(s, &end, 10);
	if (*end == '\0' && errno == 0 && (isdigit((unsigned char)s[0]) || ((s[0] == '-' || s[0] == '+') && s[1])))
		return json_integer(i);
	errno = 0;
	double d = strtod(s, &end);
	if (*end == '\0' && errno == 0 && isfinite(d) && strpbrk(s, "0123456789") &&
	    !strpbrk(s, "xXnN"))
		return json_real(d);
	return json_stringn(s, n);
}

static json_t *parse_node(yaml_parser_t *p, yaml_event_t *ev, int depth, struct ab_error *err);

static json_t *parse_collection(yaml_parser_t *p, bool mapping, int depth, struct ab_error *err)
{
	json_t *out = mapping ? json_object() : json_array();
	yaml_event_t ev;
	for (;;) {
		if (!yaml_parser_parse(p, &ev)) {
			set_err(err, &p->problem_mark, "%s", p->problem ? p->problem : "YAML syntax error");
			json_decref(out);
			return NULL;
		}
		if (ev.type == (mapping ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT)) {
			yaml_event_delete(&ev);
			return out;
		}
		if (mapping) {
			if (ev.type != YAML_SCALAR_EVENT) {
				set_err(err, &ev.start_mark, "%s", "mapping keys must be scalars");
				yaml_event_delete(&ev);
				json_decref(out);
				return NULL;
			}
			char *key = strdup((const char *)ev.data.scalar.value);
			yaml_event_delete(&ev);
			if (!yaml_parser_parse(p, &ev)) {
				set_err(err, &p->problem_mark, "%s", p->problem ? p->problem : "YAML syntax error");
				free(key);
				json_decref(out);
				return NULL;
			}
			json_t *v = parse_node(p, &ev, depth + 1, err);
			if (!v || !key) {
				free(key);
				json_decref(out);
				return NULL;
			}
			json_object_set_new(out, key, v);
			free(key);
		} else {
			json_t *v = parse_node(p, &ev, depth + 1, err);
			if (!v) {
				json_decref(out);
				return NULL;
			}
			json_array_append_new(out, v);
		}
	}
}

/* Consumes ev. */
static json_t *parse_node(yaml_parser_t *p, yaml_event_t *ev, int depth, struct ab_error *err)
{
	json_t *v = NULL;
	if (depth > MAX_DEPTH) {
		set_err(err, &ev->start_mark, "%s", "nesting too deep");
		yaml_event_delete(ev);
		return NULL;
	}
	switch (ev->type) {
	case YAML_SCALAR_EVENT: {
		const char *s = (const char *)ev->data.scalar.value;
		size_t n = ev->data.scalar.length;
		v = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ? plain_scalar(s, n) : json_stringn(s, n);
		if (!v)
			set_err(err, &ev->start_mark, "%s", "a string that is not valid UTF-8");
		break;
	}
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT: {
		bool mapping = ev->type == YAML_MAPPING_START_EVENT;
		if (mapping ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor) {
			set_err(err, &ev->start_mark, "%s", "YAML anchors are not supported");
			break;
		}
		yaml_event_delete(ev);
		return parse_collection(p, mapping, depth, err);
	}
	case YAML_ALIAS_EVENT:
		set_err(err, &ev->start_mark, "%s", "YAML aliases are not supported");
		break;
	default:
		set_err(err, &ev->start_mark, "%s", "unexpected YAML structure");
		break;
	}
	yaml_event_delete(ev);
	return v;
}

json_t *yamljson_load_string(const char *text, size_t len, struct ab_error *err)
{
	yaml_parser_t p;
	yaml_event_t ev;
	json_t *doc = NULL;

	memset(err, 0, sizeof(*err));
	if (!yaml_parser_initialize(&p)) {
		set_err(err, NULL, "%s", "out of memory");
		return NULL;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	/* stream start, document start, the node, document end */
	for (;;) {
		if (!yaml_parser_parse(&p, &ev)) {
			set_err(err, &p.problem_mark, "%s", p.problem ? p.problem : "YAML syntax error");
			goto out;
		}
		if (ev.type == YAML_STREAM_START_EVENT || ev.type == YAML_DOCUMENT_START_EVENT) {
			yaml_event_delete(&ev);
			continue;
		}
		if (ev.type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			set_err(err, NULL, "%s", "the file is empty");
			goto out;
		}
		doc = parse_node(&p, &ev, 0, err);
		break;
	}
	if (doc && (!yaml_parser_parse(&p, &ev) || (yaml_event_delete(&ev), 0) ||
		    !yaml_parser_parse(&p, &ev) || ev.type != YAML_STREAM_END_EVENT)) {
		if (ev.type != YAML_STREAM_END_EVENT)
			set_err(err, &ev.start_mark, "%s", "more than one YAML document");
		json_decref(doc);
		doc = NULL;
	}
	yaml_event_delete(&ev);
out:
	yaml_parser_delete(&p);
	return doc;
}

json_t *yamljson_load_file(const char *path, struct ab_error *err)
{
	char *text = NULL;
	size_t len;
	int r = fs_read_file(path, 64u << 20, &text, &len);
	if (r < 0) {
		memset(err, 0, sizeof(*err));
		snprintf(err->text, sizeof(err->text), "%s", strerror(-r));
		return NULL;
	}
	json_t *doc = yamljson_load_string(text, len, err);
	free(text);
	return doc;
}
