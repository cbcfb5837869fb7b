/*
 * source-postgres: an Airbyte source for PostgreSQL on libpq.
 *
 *   spec | check --config F | discover --config F
 *   read --config F --catalog F [--state F]
 *
 * Reads stream with COPY (SELECT ...) TO STDOUT (text format), one row per
 * PQgetCopyData call, converted to JSON per column type (pg_value.c) and
 * written with the kit's RECORD fast path: memory does not grow with the
 * table.  Incremental reads order by (cursor, primary key) and keep, in the
 * STREAM state, the cursor value, the rows emitted at that value and the
 * primary keys of those rows (see connectors/README.md for the guarantee).
 */
#include "../kit/ck_buf.h"
#include "../kit/ck_catalog.h"
#include "../kit/ck_main.h"
#include "../kit/ck_out.h"
#include "pg_value.h"

#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern const char source_postgres_spec[];

#define APP_NAME "airbyte-source-postgres"
#define MAX_TIE_KEYS 1000 /* primary keys kept in the state at the cursor value */
#define MAX_PK 32

/* ---------------------------------------------------------------- config */

struct pgconf {
	const char *kw[24];
	const char *val[24];
	int n;
	char port[16], timeout[16];
	const char *host, *database, *user;
	json_t *schemas;          /* NULL or a non-empty array of strings (borrowed) */
	char *schemas_json;       /* its JSON text, for a query parameter */
	long state_every;
	char tmp[3][64];          /* certificate files written for libpq */
	int ntmp;
};

static void conf_release(struct pgconf *pc)
{
	int i;

	for (i = 0; i < pc->ntmp; i++)
		unlink(pc->tmp[i]);
	pc->ntmp = 0;
	free(pc->schemas_json);
	pc->schemas_json = NULL;
}

static void conf_add(struct pgconf *pc, const char *k, const char *v)
{
	if (pc->n < (int)(sizeof(pc->kw) / sizeof(pc->kw[0])) - 1) {
		pc->kw[pc->n] = k;
		pc->val[pc->n] = v;
		pc->n++;
		pc->kw[pc->n] = NULL;
		pc->val[pc->n] = NULL;
	}
}

static const char *str_member(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Write a PEM from the config into a private temp file for libpq. */
static int conf_tmpfile(struct pgconf *pc, const char *text, const char **path,
			char *err, size_t errlen)
{
	char *p = pc->tmp[pc->ntmp];
	const char *dir = getenv("TMPDIR");
	int fd;
	size_t len = strlen(text);

	snprintf(p, sizeof(pc->tmp[0]), "%s/source-postgres-XXXXXX",
		 dir && *dir && strlen(dir) < 30 ? dir : "/tmp");
	fd = mkstemp(p);
	if (fd < 0 || ck_write_all(fd, text, len) < 0) {
		snprintf(err, errlen, "cannot write a certificate file in %s: %s", p,
			 strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(p);
		}
		return -1;
	}
	close(fd);
	pc->ntmp++;
	*path = p;
	return 0;
}

static int parse_config(const json_t *c, struct pgconf *pc, char *err, size_t errlen)
{
	const json_t *v, *sm, *rm, *tm, *port;
	const char *mode = NULL, *s;
	json_int_t pnum = 5432;
	size_t i;

	memset(pc, 0, sizeof(*pc));
	pc->state_every = 10000;

	if (!(pc->host = str_member(c, "host")) || !*pc->host) {
		snprintf(err, errlen, "config: \"host\" (a string) is required");
		return -1;
	}
	if (!(pc->database = str_member(c, "database")) || !*pc->database) {
		snprintf(err, errlen, "config: \"database\" (a string) is required");
		return -1;
	}
	if (!(pc->user = str_member(c, "username")) || !*pc->user) {
		snprintf(err, errlen, "config: \"username\" (a string) is required");
		return -1;
	}
	port = json_object_get(c, "port");
	if (json_is_integer(port)) {
		pnum = json_integer_value(port);
	} else if (json_is_string(port)) {
		char *end;

		pnum = strtoll(json_string_value(port), &end, 10);
		if (*end || end == json_string_value(port))
			pnum = -1;
	} else if (port && !json_is_null(port)) {
		pnum = -1;
	}
	if (pnum <= 0 || pnum > 65535) {
		snprintf(err, errlen, "config: \"port\" must be an integer from 1 to 65535");
		return -1;
	}
	snprintf(pc->port, sizeof(pc->port), "%d", (int)pnum);

	v = json_object_get(c, "schemas");
	if (v && !json_is_null(v)) {
		if (!json_is_array(v)) {
			snprintf(err, errlen, "config: \"schemas\" must be an array of strings");
			return -1;
		}
		for (i = 0; i < json_array_size(v); i++)
			if (!json_is_string(json_array_get(v, i))) {
				snprintf(err, errlen, "config: \"schemas\" must be an array of strings");
				return -1;
			}
		if (json_array_size(v) > 0) {
			pc->schemas = (json_t *)v;
			pc->schemas_json = json_dumps(v, JSON_COMPACT);
		}
	}

	rm = json_object_get(c, "replication_method");
	s = json_is_object(rm) ? str_member(rm, "method") : json_is_string(rm) ? json_string_value(rm) : NULL;
	if (s && strcmp(s, "Standard")) {
		snprintf(err, errlen,
			 "replication_method \"%s\" is unsupported: this connector only reads with "
			 "the Standard method (full refresh, or incremental on a cursor column)", s);
		return -1;
	}
	tm = json_object_get(c, "tunnel_method");
	s = json_is_object(tm) ? str_member(tm, "tunnel_method") : NULL;
	if (s && strcmp(s, "NO_TUNNEL")) {
		snprintf(err, errlen,
			 "tunnel_method \"%s\" is unsupported: this connector only connects directly "
			 "(NO_TUNNEL); open the SSH tunnel outside and point host/port at it", s);
		return -1;
	}

	v = json_object_get(c, "state_every");
	if (json_is_integer(v) && json_integer_value(v) >= 0)
		pc->state_every = (long)json_integer_value(v);
	else if (v && !json_is_null(v)) {
		snprintf(err, errlen, "config: \"state_every\" must be an integer >= 0");
		return -1;
	}
	v = json_object_get(c, "connect_timeout");
	snprintf(pc->timeout, sizeof(pc->timeout), "%d",
		 json_is_integer(v) && json_integer_value(v) > 0 &&
		 json_integer_value(v) < 100000 ? (int)json_integer_value(v) : 10);

	conf_add(pc, "host", pc->host);
	conf_add(pc, "port", pc->port);
	conf_add(pc, "dbname", pc->database);
	conf_add(pc, "user", pc->user);
	if ((s = str_member(c, "password")))
		conf_add(pc, "password", s);
	conf_add(pc, "connect_timeout", pc->timeout);
	conf_add(pc, "application_name", APP_NAME);
	conf_add(pc, "client_encoding", "UTF8");
	conf_add(pc, "options",
		 "-c DateStyle=ISO -c TimeZone=UTC -c extra_float_digits=3 "
		 "-c bytea_output=hex -c IntervalStyle=postgres -c statement_timeout=0");

	sm = json_object_get(c, "ssl_mode");
	if (json_is_object(sm))
		mode = str_member(sm, "mode");
	if (!mode)
		mode = json_is_true(json_object_get(c, "ssl")) ? "require" : "disable";
	if (strcmp(mode, "disable") && strcmp(mode, "allow") && strcmp(mode, "prefer") &&
	    strcmp(mode, "require") && strcmp(mode, "verify-ca") && strcmp(mode, "verify-full")) {
		snprintf(err, errlen,
			 "ssl_mode \"%s\" is unknown (disable, allow, prefer, require, verify-ca, "
			 "verify-full)", mode);
		return -1;
	}
	conf_add(pc, "sslmode", mode);
	if (!strncmp(mode, "verify-", 7)) {
		static const char *const keys[3][2] = {
			{"ca_certificate", "sslrootcert"},
			{"client_certificate", "sslcert"},
			{"client_key", "sslkey"},
		};
		const char *path;

		if (!str_member(sm, "ca_certificate")) {
			snprintf(err, errlen, "ssl_mode %s needs \"ca_certificate\"", mode);
			return -1;
		}
		for (i = 0; i < 3; i++) {
			if (!(s = str_member(sm, keys[i][0])) || !*s)
				continue;
			if (conf_tmpfile(pc, s, &path, err, errlen) < 0)
				return -1;
			conf_add(pc, keys[i][1], path);
		}
		if ((s = str_member(sm, "client_key_password")))
			conf_add(pc, "sslpassword", s);
	}
	if (str_member(c, "jdbc_url_params") && *str_member(c, "jdbc_url_params"))
		ck_warn("jdbc_url_params is ignored (a JDBC setting)");
	return 0;
}

/* libpq's message on one line, without the trailing newline. */
static void one_line(char *dst, size_t len, const char *msg)
{
	size_t i, j = 0;

	for (i = 0; msg && msg[i] && j + 1 < len; i++) {
		char ch = msg[i] == '\n' || msg[i] == '\r' || msg[i] == '\t' ? ' ' : msg[i];

		if (ch == ' ' && (j == 0 || dst[j - 1] == ' '))
			continue;
		dst[j++] = ch;
	}
	while (j > 0 && dst[j - 1] == ' ')
		j--;
	dst[j] = '\0';
}

/* A connection failure, classified for humans. */
static void describe_connect_error(const struct pgconf *pc, PGconn *conn, char *err,
				   size_t errlen)
{
	char msg[1024];

	one_line(msg, sizeof(msg), conn ? PQerrorMessage(conn) : "out of memory");
	if (strstr(msg, "password authentication failed") || strstr(msg, "no password supplied") ||
	    strstr(msg, "authentication failed") ||
	    (strstr(msg, "role \"") && strstr(msg, "does not exist")))
		snprintf(err, errlen,
			 "authentication failed for user \"%s\" on %s:%s (check username and "
			 "password): %s", pc->user, pc->host, pc->port, msg);
	else if (strstr(msg, "database \"") && strstr(msg, "does not exist"))
		snprintf(err, errlen, "database \"%s\" does not exist on %s:%s: %s", pc->database,
			 pc->host, pc->port, msg);
	else if (strstr(msg, "Connection refused") || strstr(msg, "could not translate host") ||
		 strstr(msg, "timeout expired") || strstr(msg, "No route to host") ||
		 strstr(msg, "Network is unreachable") || strstr(msg, "could not connect"))
		snprintf(err, errlen,
			 "cannot reach PostgreSQL at %s:%s (host unreachable or nothing listening): %s",
			 pc->host, pc->port, msg);
	else
		snprintf(err, errlen, "cannot connect to PostgreSQL at %s:%s/%s: %s", pc->host,
			 pc->port, pc->database, msg);
}

static PGconn *pg_connect(const struct pgconf *pc, char *err, size_t errlen)
{
	PGconn *conn = PQconnectdbParams(pc->kw, pc->val, 0);

	if (!conn || PQstatus(conn) != CONNECTION_OK) {
		describe_connect_error(pc, conn, err, errlen);
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

/* Run a command; on failure describe it (with what) in err. */
static PGresult *pg_exec(PGconn *conn, const char *sql, int nparams, const char *const *params,
			 ExecStatusType want, const char *what, char *err, size_t errlen)
{
	PGresult *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	char msg[1024];

	if (res && PQresultStatus(res) == want)
		return res;
	one_line(msg, sizeof(msg), res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
	if (!*msg)
		one_line(msg, sizeof(msg), PQerrorMessage(conn));
	if (PQstatus(conn) == CONNECTION_BAD)
		snprintf(err, errlen, "connection to PostgreSQL lost (%s): %s", what, msg);
	else
		snprintf(err, errlen, "%s failed: %s", what, msg);
	PQclear(res);
	return NULL;
}

/* -------------------------------------------------------------- catalog */

struct col {
	char *name;
	char *typfmt;       /* format_type(): for casts of literals */
	enum pgv_kind kind, elem;
	int pk_ord;         /* 1-based position in the primary key, 0 if none */
};

struct table {
	char *ns, *name, *oid;
	struct col *cols;
	size_t ncols, cap;
	int pk[MAX_PK];     /* column indexes of the primary key, in key order */
	int npk;
};

static void tables_free(struct table *t, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		for (j = 0; j < t[i].ncols; j++) {
			free(t[i].cols[j].name);
			free(t[i].cols[j].typfmt);
		}
		free(t[i].cols);
		free(t[i].ns);
		free(t[i].name);
		free(t[i].oid);
	}
	free(t);
}

static const char columns_sql[] =
	"SELECT n.nspname, c.relname, c.oid::text, a.attname, bt.typname, bt.typcategory,"
	"       COALESCE(et.typname, ''), format_type(a.atttypid, a.atttypmod),"
	"       COALESCE((SELECT k.ord FROM pg_index i,"
	"                 unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)"
	"                 WHERE i.indrelid = c.oid AND i.indisprimary AND k.attnum = a.attnum), 0)"
	" FROM pg_class c"
	" JOIN pg_namespace n ON n.oid = c.relnamespace"
	" JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
	" JOIN pg_type t ON t.oid = a.atttypid"
	" JOIN pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END"
	" LEFT JOIN pg_type et ON et.oid = bt.typelem AND bt.typcategory = 'A'"
	" WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND NOT c.relispartition"
	"   AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
	"   AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'"
	"   AND has_schema_privilege(n.oid, 'USAGE') AND has_table_privilege(c.oid, 'SELECT')"
	"   AND ($1::jsonb IS NULL OR n.nspname IN (SELECT jsonb_array_elements_text($1::jsonb)))"
	"   AND ($2::text IS NULL OR n.nspname = $2) AND ($3::text IS NULL OR c.relname = $3)"
	" ORDER BY n.nspname, c.relname, a.attnum";

/* Tables (with columns and primary keys) matching the filters (NULL: any). */
static int load_tables(PGconn *conn, const char *schemas_json, const char *ns,
		       const char *name, struct table **out, size_t *nout, char *err,
		       size_t errlen)
{
	const char *params[3] = {schemas_json, ns, name};
	PGresult *res = pg_exec(conn, columns_sql, 3, params, PGRES_TUPLES_OK,
				"listing tables and columns", err, errlen);
	struct table *t = NULL, *cur = NULL;
	size_t n = 0, cap = 0;
	int i, rows;

	*out = NULL;
	*nout = 0;
	if (!res)
		return -1;
	rows = PQntuples(res);
	for (i = 0; i < rows; i++) {
		const char *oid = PQgetvalue(res, i, 2);
		struct col *c;
		int ord;

		if (!cur || strcmp(cur->oid, oid)) {
			if (n == cap) {
				struct table *nt;

				cap = cap ? cap * 2 : 16;
				nt = realloc(t, cap * sizeof(*t));
				if (!nt)
					goto oom;
				t = nt;
			}
			cur = &t[n++];
			memset(cur, 0, sizeof(*cur));
			cur->ns = strdup(PQgetvalue(res, i, 0));
			cur->name = strdup(PQgetvalue(res, i, 1));
			cur->oid = strdup(oid);
			if (!cur->ns || !cur->name || !cur->oid)
				goto oom;
		}
		if (cur->ncols == cur->cap) {
			struct col *nc;

			cur->cap = cur->cap ? cur->cap * 2 : 16;
			nc = realloc(cur->cols, cur->cap * sizeof(*nc));
			if (!nc)
				goto oom;
			cur->cols = nc;
		}
		c = &cur->cols[cur->ncols++];
		memset(c, 0, sizeof(*c));
		c->name = strdup(PQgetvalue(res, i, 3));
		c->typfmt = strdup(PQgetvalue(res, i, 7));
		if (!c->name || !c->typfmt)
			goto oom;
		c->kind = pgv_kind_of(PQgetvalue(res, i, 4), PQgetvalue(res, i, 5)[0]);
		c->elem = c->kind == PGV_ARRAY ? pgv_kind_of(PQgetvalue(res, i, 6), 0) : PGV_STRING;
		ord = atoi(PQgetvalue(res, i, 8));
		c->pk_ord = ord;
		if (ord > 0 && ord <= MAX_PK) {
			cur->pk[ord - 1] = (int)(cur->ncols - 1);
			if (ord > cur->npk)
				cur->npk = ord;
		}
	}
	PQclear(res);
	*out = t;
	*nout = n;
	return 0;
oom:
	PQclear(res);
	if (t)
		tables_free(t, n);
	snprintf(err, errlen, "out of memory");
	return -1;
}

static json_t *stream_json(const struct table *t)
{
	json_t *props = json_object(), *pk = json_array(), *s;
	size_t i;
	int k;

	for (i = 0; i < t->ncols; i++)
		json_object_set_new(props, t->cols[i].name,
				    pgv_schema(t->cols[i].kind, t->cols[i].elem));
	for (k = 0; k < t->npk; k++)
		json_array_append_new(pk, json_pack("[s]", t->cols[t->pk[k]].name));
	s = json_pack("{s:s, s:s, s:{s:s, s:o}, s:[s,s], s:b, s:[], s:o}", "name", t->name,
		      "namespace", t->ns, "json_schema", "type", "object", "properties", props,
		      "supported_sync_modes", "full_refresh", "incremental",
		      "source_defined_cursor", 0, "default_cursor_field",
		      "source_defined_primary_key", pk);
	return s;
}

/* ---------------------------------------------------------------- check */

static int pg_check(json_t *config)
{
	struct pgconf pc;
	char err[2048], msg[2100];
	PGconn *conn;
	PGresult *res;

	if (parse_config(config, &pc, err, sizeof(err)) < 0) {
		conf_release(&pc);
		return ck_emit_connection_status("FAILED", err);
	}
	conn = pg_connect(&pc, err, sizeof(err));
	if (!conn) {
		conf_release(&pc);
		return ck_emit_connection_status("FAILED", err);
	}
	if (pc.schemas_json) {
		const char *params[1] = {pc.schemas_json};

		res = pg_exec(conn,
			      "SELECT string_agg(s, ', ') FROM jsonb_array_elements_text($1::jsonb) s"
			      " WHERE NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = s)",
			      1, params, PGRES_TUPLES_OK, "checking schemas", err, sizeof(err));
		if (!res) {
			PQfinish(conn);
			conf_release(&pc);
			return ck_emit_connection_status("FAILED", err);
		}
		if (!PQgetisnull(res, 0, 0)) {
			snprintf(msg, sizeof(msg), "schemas not found in database \"%s\": %s",
				 pc.database, PQgetvalue(res, 0, 0));
			PQclear(res);
			PQfinish(conn);
			conf_release(&pc);
			return ck_emit_connection_status("FAILED", msg);
		}
		PQclear(res);
	} else {
		res = pg_exec(conn, "SELECT 1", 0, NULL, PGRES_TUPLES_OK, "SELECT 1", err,
			      sizeof(err));
		if (!res) {
			PQfinish(conn);
			conf_release(&pc);
			return ck_emit_connection_status("FAILED", err);
		}
		PQclear(res);
	}
	PQfinish(conn);
	conf_release(&pc);
	return ck_emit_connection_status("SUCCEEDED", NULL);
}

/* ------------------------------------------------------------- discover */

static int pg_discover(json_t *config)
{
	struct pgconf pc;
	char err[2048];
	PGconn *conn;
	struct table *t;
	size_t n, i;
	json_t *streams;
	int r;

	if (parse_config(config, &pc, err, sizeof(err)) < 0) {
		conf_release(&pc);
		return ck_fail("%s", err);
	}
	conn = pg_connect(&pc, err, sizeof(err));
	if (!conn) {
		conf_release(&pc);
		return ck_fail("%s", err);
	}
	if (load_tables(conn, pc.schemas_json, NULL, NULL, &t, &n, err, sizeof(err)) < 0) {
		PQfinish(conn);
		conf_release(&pc);
		return ck_fail("%s", err);
	}
	PQfinish(conn);
	streams = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(streams, stream_json(&t[i]));
	r = ck_emit_catalog(streams);
	json_decref(streams);
	tables_free(t, n);
	conf_release(&pc);
	return r;
}

/* ----------------------------------------------------------------- read */

enum resume { R_NONE, R_SET, R_KEYSET, R_COUNT, R_GT };

struct plan {
	const json_t *cs;
	const char *stream, *ns;  /* as named in the catalog (ns may be NULL) */
	struct table *t;          /* owned by the table list of the stream */
	size_t ntables;
	int incremental;
	int cursor;               /* column index of the cursor, or -1 */
	/* select list: table column indexes, and whether each is in the record */
	int *sel;
	int *emit;
	char **prefix;            /* {"name": or ,"name": */
	size_t nsel;
	int cfield;               /* field index of the cursor in the select list */
	int pkfield[MAX_PK];
	/* saved state */
	enum resume resume;
	json_t *saved;            /* saved stream_state (borrowed) */
	const char *saved_cursor;
	json_int_t saved_count;
	json_t *saved_last, *saved_set;
};

static void plan_free(struct plan *p)
{
	size_t i;

	if (p->t)
		tables_free(p->t, p->ntables);
	for (i = 0; p->prefix && i < p->nsel; i++)
		free(p->prefix[i]);
	free(p->prefix);
	free(p->sel);
	free(p->emit);
	memset(p, 0, sizeof(*p));
}

static int col_index(const struct table *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->ncols; i++)
		if (!strcmp(t->cols[i].name, name))
			return (int)i;
	return -1;
}

static int add_sel(struct plan *p, int col, int emit)
{
	size_t i;

	for (i = 0; i < p->nsel; i++)
		if (p->sel[i] == col) {
			p->emit[i] |= emit;
			return (int)i;
		}
	p->sel[p->nsel] = col;
	p->emit[p->nsel] = emit;
	return (int)p->nsel++;
}

/* The saved cursor as text (strings as they are, numbers printed). */
static const char *cursor_text(json_t *v, char *tmp, size_t len)
{
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v)) {
		snprintf(tmp, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return tmp;
	}
	if (json_is_real(v)) {
		snprintf(tmp, len, "%.17g", json_real_value(v));
		return tmp;
	}
	return NULL;
}

static char cursor_tmp[64];

static int plan_stream(PGconn *conn, const struct pgconf *pc, const json_t *cs,
		       const json_t *state, struct plan *p, char *err, size_t errlen)
{
	const char *mode, *cname = NULL;
	json_t *props, *cf;
	struct table *t;
	size_t i, k;

	memset(p, 0, sizeof(*p));
	p->cs = cs;
	p->stream = ck_cs_name(cs);
	p->ns = ck_cs_namespace(cs);
	p->cursor = -1;
	if (!p->stream) {
		snprintf(err, errlen, "configured catalog: a stream without a name");
		return -1;
	}
	if (load_tables(conn, p->ns ? NULL : pc->schemas_json, p->ns, p->stream, &p->t,
			&p->ntables, err, errlen) < 0)
		return -1;
	if (p->ntables == 0) {
		if (p->ns)
			snprintf(err, errlen,
				 "stream %s.%s: table \"%s\".\"%s\" not found in database \"%s\" (or "
				 "user \"%s\" may not read it)", p->ns, p->stream, p->ns, p->stream,
				 pc->database, pc->user);
		else
			snprintf(err, errlen,
				 "stream %s: no table \"%s\" in database \"%s\"%s (or user \"%s\" may "
				 "not read it)", p->stream, p->stream, pc->database,
				 pc->schemas ? " in the configured schemas" : "", pc->user);
		return -1;
	}
	if (p->ntables > 1) {
		snprintf(err, errlen,
			 "stream %s: several schemas have a table \"%s\" (%s, %s%s); set the "
			 "stream's namespace in the catalog", p->stream, p->stream, p->t[0].ns,
			 p->t[1].ns, p->ntables > 2 ? ", ..." : "");
		return -1;
	}
	t = p->t;
	if (!p->ns)
		p->ns = t->ns;
	mode = ck_cs_sync_mode(cs);
	p->incremental = mode && !strcmp(mode, "incremental");
	if (mode && strcmp(mode, "incremental") && strcmp(mode, "full_refresh")) {
		snprintf(err, errlen, "stream %s.%s: unknown sync_mode \"%s\"", t->ns, t->name, mode);
		return -1;
	}
	if (p->incremental) {
		cf = json_object_get(cs, "cursor_field");
		cname = ck_cs_cursor(cs);
		if (!cname) {
			snprintf(err, errlen,
				 "stream %s.%s: sync_mode incremental needs a cursor_field (this "
				 "source has no default cursor)", t->ns, t->name);
			return -1;
		}
		if (json_array_size(cf) > 1) {
			snprintf(err, errlen, "stream %s.%s: nested cursor_field is not supported",
				 t->ns, t->name);
			return -1;
		}
		p->cursor = col_index(t, cname);
		if (p->cursor < 0) {
			snprintf(err, errlen, "stream %s.%s: cursor column \"%s\" does not exist",
				 t->ns, t->name, cname);
			return -1;
		}
		if (!pgv_cursor_ok(t->cols[p->cursor].kind)) {
			snprintf(err, errlen,
				 "stream %s.%s: column \"%s\" (%s) cannot be a cursor (not comparable)",
				 t->ns, t->name, cname, t->cols[p->cursor].typfmt);
			return -1;
		}
	}

	/* select list: the catalog's properties (all columns when absent) */
	p->sel = calloc(t->ncols + 1, sizeof(int));
	p->emit = calloc(t->ncols + 1, sizeof(int));
	p->prefix = calloc(t->ncols + 1, sizeof(char *));
	if (!p->sel || !p->emit || !p->prefix) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	props = ck_cs_properties(cs);
	for (i = 0; i < t->ncols; i++)
		if (!json_is_object(props) || json_object_size(props) == 0 ||
		    json_object_get(props, t->cols[i].name))
			add_sel(p, (int)i, 1);
	if (json_is_object(props)) {
		const char *key;
		json_t *val;

		json_object_foreach(props, key, val)
			if (col_index(t, key) < 0)
				ck_emit_log("WARN", "stream %s.%s: column \"%s\" of the catalog is not "
					    "in the table; skipped", t->ns, t->name, key);
	}
	if (p->incremental) {
		p->cfield = add_sel(p, p->cursor, 0);
		for (k = 0; k < (size_t)t->npk; k++)
			p->pkfield[k] = add_sel(p, t->pk[k], 0);
	}
	for (i = 0, k = 0; i < p->nsel; i++) {
		struct ck_buf b = CK_BUF_INIT((size_t)1 << 20);

		if (!p->emit[i])
			continue;
		ck_buf_addc(&b, k++ ? ',' : '{');
		ck_buf_add_json_str(&b, t->cols[p->sel[i]].name, strlen(t->cols[p->sel[i]].name));
		ck_buf_addc(&b, ':');
		p->prefix[i] = b.data;
		if (!b.data) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}

	/* saved state */
	p->resume = R_NONE;
	if (p->incremental && state) {
		json_t *ss = ck_state_find(state, p->stream, p->ns);
		json_t *scf, *tb;
		const char *sc;

		if (!ss)
			ss = ck_state_find(state, p->stream, NULL);
		if (json_is_object(ss)) {
			scf = json_object_get(ss, "cursor_field");
			sc = json_is_array(scf) ? json_string_value(json_array_get(scf, 0))
						: json_string_value(scf);
			p->saved_cursor = cursor_text(json_object_get(ss, "cursor"), cursor_tmp,
						      sizeof(cursor_tmp));
			if (sc && strcmp(sc, cname)) {
				ck_emit_log("WARN", "stream %s.%s: the saved state is for cursor \"%s\", "
					    "not \"%s\": reading everything", t->ns, t->name, sc, cname);
				p->saved_cursor = NULL;
			}
			if (p->saved_cursor) {
				json_t *cols, *cnt;
				int same = 0;

				p->saved = ss;
				tb = json_object_get(ss, "tie_breaker");
				cols = json_object_get(tb, "columns");
				if (t->npk > 0 && json_is_array(cols) &&
				    json_array_size(cols) == (size_t)t->npk) {
					same = 1;
					for (k = 0; k < (size_t)t->npk; k++)
						if (!json_is_string(json_array_get(cols, k)) ||
						    strcmp(json_string_value(json_array_get(cols, k)),
							   t->cols[t->pk[k]].name))
							same = 0;
				}
				p->saved_last = json_object_get(tb, "last");
				p->saved_set = json_object_get(tb, "at_cursor");
				cnt = json_object_get(ss, "cursor_record_count");
				p->saved_count = json_is_integer(cnt) ? json_integer_value(cnt) : -1;
				if (same && json_is_array(p->saved_set))
					p->resume = R_SET;
				else if (same && json_array_size(p->saved_last) == (size_t)t->npk)
					p->resume = R_KEYSET;
				else if (p->saved_count >= 0)
					p->resume = R_COUNT;
				else
					p->resume = R_GT;
			}
		}
	}
	return 0;
}

/* Quoted identifier / literal appended to b (0 or -1). */
static int add_ident(PGconn *conn, struct ck_buf *b, const char *name)
{
	char *q = PQescapeIdentifier(conn, name, strlen(name));
	int r;

	if (!q)
		return -1;
	r = ck_buf_adds(b, q);
	PQfreemem(q);
	return r < 0 ? -1 : 0;
}

static int add_literal(PGconn *conn, struct ck_buf *b, const char *s, const char *typfmt)
{
	char *q = PQescapeLiteral(conn, s, strlen(s));
	int r;

	if (!q)
		return -1;
	r = ck_buf_adds(b, q);
	PQfreemem(q);
	if (!r && typfmt)
		r = ck_buf_addf(b, "::%s", typfmt);
	return r < 0 ? -1 : 0;
}

static int add_src_col(PGconn *conn, struct ck_buf *b, const struct table *t, int col)
{
	if (ck_buf_adds(b, "_ab_src.") < 0)
		return -1;
	return add_ident(conn, b, t->cols[col].name);
}

/* FROM + WHERE + ORDER BY of the stream's query. */
static int build_from(PGconn *conn, struct plan *p, struct ck_buf *q, int with_order,
		      json_int_t count_at_cursor)
{
	const struct table *t = p->t;
	int k, r = 0;

	r |= ck_buf_adds(q, " FROM ");
	r |= add_ident(conn, q, t->ns);
	r |= ck_buf_addc(q, '.');
	r |= add_ident(conn, q, t->name);
	r |= ck_buf_adds(q, " AS _ab_src");
	if (!p->incremental)
		return r ? -1 : 0;
	r |= ck_buf_adds(q, " WHERE ");
	switch (p->resume) {
	case R_NONE:
		r |= add_src_col(conn, q, t, p->cursor);
		r |= ck_buf_adds(q, " IS NOT NULL");
		break;
	case R_SET: {
		char *set = json_dumps(p->saved_set, JSON_COMPACT);

		r |= add_src_col(conn, q, t, p->cursor);
		r |= ck_buf_adds(q, " >= ");
		r |= add_literal(conn, q, p->saved_cursor, t->cols[p->cursor].typfmt);
		r |= ck_buf_adds(q, " AND (");
		r |= add_src_col(conn, q, t, p->cursor);
		r |= ck_buf_adds(q, " > ");
		r |= add_literal(conn, q, p->saved_cursor, t->cols[p->cursor].typfmt);
		r |= ck_buf_adds(q, " OR NOT EXISTS (SELECT 1 FROM jsonb_array_elements(");
		r |= set ? add_literal(conn, q, set, "jsonb") : -1;
		r |= ck_buf_adds(q, ") AS _ab_tb(k) WHERE _ab_tb.k = jsonb_build_array(");
		for (k = 0; k < t->npk; k++) {
			r |= ck_buf_adds(q, k ? ", format('%s', " : "format('%s', ");
			r |= add_src_col(conn, q, t, t->pk[k]);
			r |= ck_buf_addc(q, ')');
		}
		r |= ck_buf_adds(q, ")))");
		free(set);
		break;
	}
	case R_KEYSET:
		r |= ck_buf_addc(q, '(');
		r |= add_src_col(conn, q, t, p->cursor);
		for (k = 0; k < t->npk; k++) {
			r |= ck_buf_adds(q, ", ");
			r |= add_src_col(conn, q, t, t->pk[k]);
		}
		r |= ck_buf_adds(q, ") > (");
		r |= add_literal(conn, q, p->saved_cursor, t->cols[p->cursor].typfmt);
		for (k = 0; k < t->npk; k++) {
			const char *v = json_string_value(json_array_get(p->saved_last, (size_t)k));

			r |= ck_buf_adds(q, ", ");
			r |= v ? add_literal(conn, q, v, t->cols[t->pk[k]].typfmt) : -1;
		}
		r |= ck_buf_addc(q, ')');
		break;
	case R_COUNT:
	case R_GT:
		r |= add_src_col(conn, q, t, p->cursor);
		r |= ck_buf_adds(q, p->resume == R_GT || count_at_cursor == p->saved_count ? " > "
											    : " >= ");
		r |= add_literal(conn, q, p->saved_cursor, t->cols[p->cursor].typfmt);
		break;
	}
	if (with_order) {
		r |= ck_buf_adds(q, " ORDER BY ");
		r |= add_src_col(conn, q, t, p->cursor);
		for (k = 0; k < t->npk; k++) {
			r |= ck_buf_adds(q, ", ");
			r |= add_src_col(conn, q, t, t->pk[k]);
		}
	}
	return r ? -1 : 0;
}

/* Incremental progress of one stream. */
struct incr {
	struct ck_buf cur;      /* cursor text of the last row */
	json_int_t count;       /* rows emitted at that cursor value */
	struct ck_buf last;     /* JSON array of the last row's primary key texts */
	struct ck_buf set;      /* JSON arrays of the keys at the cursor, comma separated */
	long nset;
	int overflow;           /* more than MAX_TIE_KEYS keys at the cursor */
	int have;               /* a cursor value is known */
	struct ck_buf tmp;
};

static void incr_release(struct incr *in)
{
	ck_buf_release(&in->cur);
	ck_buf_release(&in->last);
	ck_buf_release(&in->set);
	ck_buf_release(&in->tmp);
}

static json_t *incr_state(const struct plan *p, const struct incr *in)
{
	const struct table *t = p->t;
	const char *cname = t->cols[p->cursor].name;
	json_t *st, *tb, *cols;
	int k;

	if (!in->have)
		return p->saved ? json_deep_copy(p->saved) : json_pack("{s:[s]}", "cursor_field", cname);
	st = json_pack("{s:[s], s:s%, s:I}", "cursor_field", cname, "cursor", in->cur.data,
		       in->cur.len, "cursor_record_count", in->count);
	if (!st)
		return NULL;
	if (t->npk > 0) {
		cols = json_array();
		for (k = 0; k < t->npk; k++)
			json_array_append_new(cols, json_string(t->cols[t->pk[k]].name));
		tb = json_pack("{s:o}", "columns", cols);
		if (in->last.len)
			json_object_set_new(tb, "last", json_loadb(in->last.data, in->last.len, 0, NULL));
		if (!in->overflow) {
			struct ck_buf b = CK_BUF_INIT((size_t)1 << 30);

			ck_buf_addc(&b, '[');
			ck_buf_add(&b, in->set.data ? in->set.data : "", in->set.len);
			ck_buf_addc(&b, ']');
			json_object_set_new(tb, "at_cursor",
					    b.data ? json_loadb(b.data, b.len, 0, NULL) : NULL);
			ck_buf_release(&b);
		}
		json_object_set_new(st, "tie_breaker", tb);
	}
	return st;
}

/* Start from the saved position (so that ties continue across runs). */
static void incr_init(struct plan *p, struct incr *in, int skipped_all_at_cursor)
{
	size_t i;

	memset(in, 0, sizeof(*in));
	ck_buf_init(&in->cur, (size_t)1 << 30);
	ck_buf_init(&in->last, (size_t)1 << 20);
	ck_buf_init(&in->set, (size_t)1 << 30);
	ck_buf_init(&in->tmp, (size_t)1 << 30);
	switch (p->resume) {
	case R_SET:
	case R_KEYSET:
		in->have = 1;
		ck_buf_adds(&in->cur, p->saved_cursor);
		in->count = p->saved_count > 0 ? p->saved_count : 0;
		if (p->saved_last) {
			char *s = json_dumps(p->saved_last, JSON_COMPACT);

			if (s)
				ck_buf_adds(&in->last, s);
			free(s);
		}
		if (p->resume == R_SET) {
			for (i = 0; i < json_array_size(p->saved_set); i++) {
				char *s = json_dumps(json_array_get(p->saved_set, i), JSON_COMPACT);

				if (s) {
					if (in->nset++)
						ck_buf_addc(&in->set, ',');
					ck_buf_adds(&in->set, s);
				}
				free(s);
			}
		} else {
			in->overflow = 1;
		}
		break;
	case R_COUNT:
	case R_GT:
		if (skipped_all_at_cursor) {
			in->have = 1;
			ck_buf_adds(&in->cur, p->saved_cursor);
			in->count = p->saved_count > 0 ? p->saved_count : 0;
			in->overflow = 1;
		}
		break;
	case R_NONE:
		break;
	}
}

static int field_clean(struct ck_buf *out, const char *s, size_t n)
{
	ck_buf_reset(out);
	if (!memchr(s, '\\', n))
		return ck_buf_add(out, s, n);
	return pgv_unescape(out, s, n);
}

/* Track the cursor and key of one emitted row. */
static int incr_row(const struct plan *p, struct incr *in, const char *const *f,
		    const size_t *fl)
{
	const struct table *t = p->t;
	int k, r;

	r = field_clean(&in->tmp, f[p->cfield], fl[p->cfield]);
	if (r < 0)
		return r;
	if (!in->have || in->cur.len != in->tmp.len || memcmp(in->cur.data, in->tmp.data, in->tmp.len)) {
		ck_buf_reset(&in->cur);
		r = ck_buf_add(&in->cur, in->tmp.data, in->tmp.len);
		if (r < 0)
			return r;
		in->have = 1;
		in->count = 0;
		ck_buf_reset(&in->set);
		in->nset = 0;
		in->overflow = 0;
	}
	in->count++;
	if (t->npk == 0)
		return 0;
	ck_buf_reset(&in->last);
	ck_buf_addc(&in->last, '[');
	for (k = 0; k < t->npk; k++) {
		r = field_clean(&in->tmp, f[p->pkfield[k]], fl[p->pkfield[k]]);
		if (r < 0)
			return r;
		if (k)
			ck_buf_addc(&in->last, ',');
		r = ck_buf_add_json_str(&in->last, in->tmp.data ? in->tmp.data : "", in->tmp.len);
		if (r < 0)
			return r;
	}
	r = ck_buf_addc(&in->last, ']');
	if (r < 0)
		return r;
	if (!in->overflow) {
		if (in->nset >= MAX_TIE_KEYS) {
			in->overflow = 1;
			ck_buf_reset(&in->set);
			in->nset = 0;
		} else {
			if (in->nset++)
				ck_buf_addc(&in->set, ',');
			r = ck_buf_add(&in->set, in->last.data, in->last.len);
		}
	}
	return r;
}

static int emit_incr_state(const struct plan *p, const struct incr *in)
{
	json_t *st = incr_state(p, in);
	int r;

	if (!st)
		return ck_fail("stream %s.%s: cannot build the state (invalid UTF-8 in the cursor?)",
			       p->t->ns, p->t->name);
	r = ck_emit_stream_state(p->stream, p->ns, st);
	json_decref(st);
	return r;
}

/* The estimate: rows and bytes left (planner numbers, no scan). */
static void emit_estimate(PGconn *conn, struct plan *p)
{
	const char *params[1] = {p->t->oid};
	char err[512];
	PGresult *res = pg_exec(conn,
				"SELECT c.reltuples::float8, pg_total_relation_size(c.oid)::float8,"
				" COALESCE((SELECT s.n_live_tup FROM pg_stat_all_tables s"
				"           WHERE s.relid = c.oid), -1)::float8"
				" FROM pg_class c WHERE c.oid = $1::oid",
				1, params, PGRES_TUPLES_OK, "estimate", err, sizeof(err));
	double rows, bytes, live, want;

	if (!res || PQntuples(res) != 1) {
		PQclear(res);
		return;
	}
	rows = atof(PQgetvalue(res, 0, 0));
	bytes = atof(PQgetvalue(res, 0, 1));
	live = atof(PQgetvalue(res, 0, 2));
	PQclear(res);
	if (rows < 0 || (rows == 0 && live > 0))
		rows = live > 0 ? live : 0;
	want = rows;
	if (p->incremental && p->resume != R_NONE) {
		struct ck_buf q = CK_BUF_INIT((size_t)1 << 30);

		ck_buf_adds(&q, "EXPLAIN (FORMAT JSON) SELECT 1");
		if (build_from(conn, p, &q, 0, -1) == 0 && q.data) {
			res = pg_exec(conn, q.data, 0, NULL, PGRES_TUPLES_OK, "explain", err,
				      sizeof(err));
			if (res && PQntuples(res) == 1) {
				json_t *j = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
				json_t *pr = json_object_get(json_object_get(json_array_get(j, 0),
									     "Plan"), "Plan Rows");

				if (json_is_number(pr))
					want = json_number_value(pr);
				json_decref(j);
			}
			PQclear(res);
		}
		ck_buf_release(&q);
	}
	if (rows > 0 && want < rows)
		bytes = bytes * (want / rows);
	if (want > 0 || bytes > 0)
		ck_emit_estimate(p->stream, p->ns, (int64_t)want, (int64_t)bytes);
}

/* Wait for COPY data, or a signal. 0, or -1 with the connection broken. */
static int wait_copy(PGconn *conn)
{
	struct pollfd pfd = {.fd = PQsocket(conn), .events = POLLIN};

	if (pfd.fd < 0)
		return -1;
	while (poll(&pfd, 1, 1000) < 0) {
		if (errno != EINTR || ck_terminated())
			return 0;
	}
	return PQconsumeInput(conn) ? 0 : -1;
}

static int read_stream(PGconn *conn, const struct pgconf *pc, struct plan *p)
{
	const struct table *t = p->t;
	struct ck_buf q = CK_BUF_INIT((size_t)1 << 30);
	struct ck_buf rec = CK_BUF_INIT((size_t)1 << 30);
	struct incr in;
	char err[2048], msg[1024];
	PGresult *res;
	const char **f = NULL;
	size_t *fl = NULL, i;
	json_int_t count_at = -1;
	long long rows = 0;
	long since_state = 0;
	int r = 0, k, copy_started = 0, skipped_all = 0;
	int64_t now = ck_now_ms();

	memset(&in, 0, sizeof(in));
	res = pg_exec(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL,
		      PGRES_COMMAND_OK, "BEGIN", err, sizeof(err));
	if (!res)
		return ck_fail("stream %s.%s: %s", t->ns, t->name, err);
	PQclear(res);

	if (p->incremental && p->resume == R_COUNT) {
		ck_buf_adds(&q, "SELECT count(*) FROM ");
		add_ident(conn, &q, t->ns);
		ck_buf_addc(&q, '.');
		add_ident(conn, &q, t->name);
		ck_buf_adds(&q, " AS _ab_src WHERE ");
		add_src_col(conn, &q, t, p->cursor);
		ck_buf_adds(&q, " = ");
		add_literal(conn, &q, p->saved_cursor, t->cols[p->cursor].typfmt);
		res = q.data ? pg_exec(conn, q.data, 0, NULL, PGRES_TUPLES_OK,
				       "counting rows at the saved cursor", err, sizeof(err)) : NULL;
		if (!res) {
			r = ck_fail("stream %s.%s: %s", t->ns, t->name, err);
			goto out;
		}
		count_at = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		PQclear(res);
		skipped_all = count_at == p->saved_count;
		if (!skipped_all)
			ck_emit_log("WARN", "stream %s.%s: %lld rows at the saved cursor value, %lld "
				    "were emitted before: re-emitting all of them (the table has no "
				    "primary key to tell them apart)", t->ns, t->name,
				    (long long)count_at, (long long)p->saved_count);
	}
	if (p->incremental)
		incr_init(p, &in, p->resume == R_GT || skipped_all);

	emit_estimate(conn, p);

	ck_buf_reset(&q);
	ck_buf_adds(&q, "COPY (SELECT ");
	for (i = 0; i < p->nsel; i++) {
		if (i)
			ck_buf_adds(&q, ", ");
		add_src_col(conn, &q, t, p->sel[i]);
	}
	if (p->nsel == 0)
		ck_buf_adds(&q, "NULL");
	if (build_from(conn, p, &q, p->incremental, count_at) < 0 ||
	    ck_buf_adds(&q, ") TO STDOUT") < 0 || !q.data) {
		r = ck_fail("stream %s.%s: cannot build the query", t->ns, t->name);
		goto out;
	}
	res = pg_exec(conn, q.data, 0, NULL, PGRES_COPY_OUT, "COPY", err, sizeof(err));
	if (!res) {
		r = ck_fail("stream %s.%s: %s", t->ns, t->name, err);
		goto out;
	}
	PQclear(res);
	copy_started = 1;

	f = calloc(p->nsel + 1, sizeof(*f));
	fl = calloc(p->nsel + 1, sizeof(*fl));
	if (!f || !fl) {
		r = ck_fail("out of memory");
		goto out;
	}
	for (;;) {
		char *row = NULL;
		int n = PQgetCopyData(conn, &row, 1);
		const char *s, *e;

		if (n == 0) {
			if (ck_terminated()) {
				r = -EINTR;
				goto out;
			}
			if (wait_copy(conn) < 0)
				break; /* reported by PQgetResult below */
			continue;
		}
		if (n < 0)
			break;
		s = row;
		e = row + n;
		if (e > s && e[-1] == '\n')
			e--;
		for (i = 0; i < p->nsel; i++) {
			const char *tab = i + 1 < p->nsel ? memchr(s, '\t', (size_t)(e - s)) : e;

			if (!tab) {
				PQfreemem(row);
				r = ck_fail("stream %s.%s: COPY row %lld has fewer fields than expected",
					    t->ns, t->name, rows + 1);
				goto out;
			}
			f[i] = s;
			fl[i] = (size_t)(tab - s);
			s = tab + 1;
		}
		ck_buf_reset(&rec);
		k = 0;
		for (i = 0; i < p->nsel && r >= 0; i++) {
			if (!p->emit[i])
				continue;
			r = ck_buf_adds(&rec, p->prefix[i]);
			if (r >= 0)
				r = pgv_emit_field(&rec, t->cols[p->sel[i]].kind, t->cols[p->sel[i]].elem,
						   f[i], fl[i]);
			k++;
		}
		if (r >= 0)
			r = k ? ck_buf_addc(&rec, '}') : ck_buf_adds(&rec, "{}");
		if (r >= 0 && p->incremental)
			r = incr_row(p, &in, f, fl);
		PQfreemem(row);
		if (r < 0) {
			r = ck_fail("stream %s.%s: row %lld: %s", t->ns, t->name, rows + 1,
				    strerror(-r));
			goto out;
		}
		if ((rows & 1023) == 0)
			now = ck_now_ms();
		r = ck_emit_record_raw(p->stream, p->ns, rec.data, rec.len, now);
		if (r < 0)
			goto out;
		rows++;
		if (p->incremental && pc->state_every > 0 && ++since_state >= pc->state_every) {
			since_state = 0;
			r = emit_incr_state(p, &in);
			if (r < 0)
				goto out;
		}
	}
	/* COPY finished or the connection broke: the result says which */
	copy_started = 0;
	while ((res = PQgetResult(conn))) {
		ExecStatusType st = PQresultStatus(res);

		if (st != PGRES_COMMAND_OK && r == 0) {
			one_line(msg, sizeof(msg), PQresultErrorMessage(res));
			if (!*msg)
				one_line(msg, sizeof(msg), PQerrorMessage(conn));
			r = ck_fail("stream %s.%s: %s after %lld rows: %s", t->ns, t->name,
				    PQstatus(conn) == CONNECTION_BAD ? "connection to PostgreSQL lost"
								      : "COPY failed",
				    rows, msg);
		}
		PQclear(res);
		if (PQstatus(conn) == CONNECTION_BAD || st == PGRES_COPY_OUT)
			break;
	}
	if (r == 0 && PQstatus(conn) == CONNECTION_BAD) {
		one_line(msg, sizeof(msg), PQerrorMessage(conn));
		r = ck_fail("stream %s.%s: connection to PostgreSQL lost after %lld rows: %s",
			    t->ns, t->name, rows, msg);
	}
	if (r < 0)
		goto out;
	res = pg_exec(conn, "COMMIT", 0, NULL, PGRES_COMMAND_OK, "COMMIT", err, sizeof(err));
	if (!res) {
		r = ck_fail("stream %s.%s: %s", t->ns, t->name, err);
		goto out;
	}
	PQclear(res);
	if (p->incremental) {
		/* not again when the last periodic STATE already said the same */
		if (since_state > 0 || rows == 0)
			r = emit_incr_state(p, &in);
	} else {
		json_t *empty = json_object();

		r = ck_emit_stream_state(p->stream, p->ns, empty);
		json_decref(empty);
	}
	if (r >= 0)
		ck_emit_log("INFO", "stream %s.%s: %lld records", t->ns, t->name, rows);
out:
	(void)copy_started;
	free(f);
	free(fl);
	ck_buf_release(&q);
	ck_buf_release(&rec);
	incr_release(&in);
	return r;
}

static int pg_read(json_t *config, json_t *catalog, json_t *state)
{
	struct pgconf pc;
	char err[2048];
	PGconn *conn;
	json_t *streams = json_object_get(catalog, "streams");
	struct plan *plans;
	size_t n = json_array_size(streams), i;
	int r = 0;

	if (parse_config(config, &pc, err, sizeof(err)) < 0) {
		conf_release(&pc);
		return ck_fail("%s", err);
	}
	conn = pg_connect(&pc, err, sizeof(err));
	if (!conn) {
		conf_release(&pc);
		return ck_fail("%s", err);
	}
	plans = calloc(n + 1, sizeof(*plans));
	if (!plans) {
		PQfinish(conn);
		conf_release(&pc);
		return ck_fail("out of memory");
	}
	/* every configured stream must exist before anything is read */
	for (i = 0; i < n && r == 0; i++)
		if (plan_stream(conn, &pc, json_array_get(streams, i), state, &plans[i], err,
				sizeof(err)) < 0)
			r = ck_fail("%s", err);
	for (i = 0; i < n && r == 0; i++) {
		r = read_stream(conn, &pc, &plans[i]);
		if (r == 0)
			r = ck_out_flush();
		if (ck_terminated())
			r = -EINTR;
	}
	for (i = 0; i < n; i++)
		plan_free(&plans[i]);
	free(plans);
	PQfinish(conn);
	conf_release(&pc);
	return r;
}

int main(int argc, char **argv)
{
	static const struct ck_connector conn = {
		.name = "source-postgres",
		.spec_json = source_postgres_spec,
		.check = pg_check,
		.discover = pg_discover,
		.read = pg_read,
	};

	return ck_main(argc, argv, &conn);
}
