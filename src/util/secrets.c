#include "util/secrets.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SECRETS 64

static char *secrets[MAX_SECRETS];
static size_t lens[MAX_SECRETS];
static size_t nsecrets;
static bool starts[256];        /* the first bytes of the secrets */

void secrets_add(const char *value)
{
	if (!value || strlen(value) < 3 || nsecrets == MAX_SECRETS)
		return;
	for (size_t i = 0; i < nsecrets; i++)
		if (!strcmp(secrets[i], value))
			return;
	char *copy = strdup(value);
	if (!copy)
		return;
	starts[(unsigned char)copy[0]] = true;
	lens[nsecrets] = strlen(copy);
	secrets[nsecrets++] = copy;
}

void secrets_clear(void)
{
	for (size_t i = 0; i < nsecrets; i++)
		free(secrets[i]);
	nsecrets = 0;
	memset(starts, 0, sizeof(starts));
}

size_t secrets_mask(const char *in, size_t len, char *out, size_t cap)
{
	size_t o = 0, i = 0;
	if (cap == 0)
		return 0;
	for (;;) {
		/* the bytes that cannot start a secret go as they are */
		size_t j = i;
		while (j < len && !starts[(unsigned char)in[j]])
			j++;
		size_t m = j - i < cap - 1 - o ? j - i : cap - 1 - o;
		memcpy(out + o, in + i, m);
		o += m;
		i += m;
		if (i == len || o + 1 == cap)
			break;
		size_t hit = 0;
		for (size_t k = 0; k < nsecrets && !hit; k++)
			if (lens[k] <= len - i && !memcmp(in + i, secrets[k], lens[k]))
				hit = lens[k];
		if (hit) {
			m = strlen(SECRETS_MASK);
			if (m > cap - 1 - o)
				m = cap - 1 - o;
			memcpy(out + o, SECRETS_MASK, m);
			o += m;
			i += hit;
		} else {
			out[o++] = in[i++];
		}
	}
	out[o] = '\0';
	return o;
}

void secrets_mask_inplace(char *s, size_t cap)
{
	if (nsecrets == 0)
		return;
	char *tmp = malloc(cap);
	if (!tmp)
		return;
	secrets_mask(s, strlen(s), tmp, cap);
	memcpy(s, tmp, strlen(tmp) + 1);
	free(tmp);
}

/* Names of the properties marked airbyte_secret anywhere in the schema. */
static void secret_names(const json_t *schema, json_t *names, int depth)
{
	const char *key;
	json_t *v;
	if (depth > 64)
		return;
	if (json_is_array(schema)) {
		size_t i;
		json_array_foreach(schema, i, v)
			secret_names(v, names, depth + 1);
		return;
	}
	if (!json_is_object(schema))
		return;
	json_object_foreach((json_t *)json_object_get(schema, "properties"), key, v)
		if (json_is_true(json_object_get(v, "airbyte_secret")))
			json_object_set_new(names, key, json_true());
	json_object_foreach((json_t *)schema, key, v)
		if (json_is_object(v) || json_is_array(v))
			secret_names(v, names, depth + 1);
}

static int collect(const json_t *config, const json_t *names, int depth)
{
	const char *key;
	json_t *v;
	int n = 0;
	if (depth > 64)
		return 0;
	if (json_is_array(config)) {
		size_t i;
		json_array_foreach(config, i, v)
			n += collect(v, names, depth + 1);
		return n;
	}
	json_object_foreach((json_t *)config, key, v) {
		if (json_is_string(v) && json_object_get(names, key)) {
			secrets_add(json_string_value(v));
			n++;
		} else if (json_is_object(v) || json_is_array(v)) {
			n += collect(v, names, depth + 1);
		}
	}
	return n;
}

int secrets_from_spec(const json_t *spec, const json_t *config)
{
	json_t *names = json_object();
	const json_t *cs = json_object_get(spec, "connectionSpecification");
	secret_names(cs ? cs : spec, names, 0);
	int n = json_object_size(names) ? collect(config, names, 0) : 0;
	json_decref(names);
	return n;
}
