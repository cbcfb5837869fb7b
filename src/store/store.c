#include "store/store.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include "store/metrics.h"
#include "util/fs.h"

#define STATE_MAX_BYTES (256u << 20)

bool store_valid_name(const char *name)
{
	if (!name || !*name || strlen(name) > 253 || name[0] == '.')
		return false;
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
			return false;
	return true;
}

int store_open(struct store *s, const char *store_path, const char *replication,
	       bool create)
{
	memset(s, 0, sizeof(*s));
	if (!store_valid_name(replication))
		return -EINVAL;
	s->dir = fs_join(store_path, replication);
	if (!s->dir)
		return -ENOMEM;
	s->state_path = fs_join(s->dir, "state.json");
	s->stats_path = fs_join(s->dir, "stats.json");
	s->history_path = fs_join(s->dir, "history.jsonl");
	s->journal_path = fs_join(s->dir, "state-history.jsonl");
	s->lock_path = fs_join(s->dir, "lock");
	s->metrics_path = fs_join(s->dir, "metrics.prom");
	if (!s->state_path || !s->stats_path || !s->history_path || !s->journal_path ||
	    !s->lock_path || !s->metrics_path) {
		store_release(s);
		return -ENOMEM;
	}
	if (create) {
		int r = fs_mkdir_p(s->dir, 0755);
		if (r < 0) {
			store_release(s);
			return r;
		}
	}
	return 0;
}

void store_release(struct store *s)
{
	free(s->dir);
	free(s->state_path);
	free(s->stats_path);
	free(s->history_path);
	free(s->journal_path);
	free(s->lock_path);
	free(s->metrics_path);
	memset(s, 0, sizeof(*s));
}

bool store_exists(const struct store *s)
{
	struct stat st;
	return stat(s->dir, &st) == 0 && S_ISDIR(st.st_mode);
}

int store_load_state(const struct store *s, json_t **doc, struct ab_error *err)
{
	char *text = NULL;
	size_t len;
	json_error_t jerr;

	*doc = NULL;
	int r = fs_read_file(s->state_path, STATE_MAX_BYTES, &text, &len);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	*doc = json_loadb(text, len, 0, &jerr);
	free(text);
	if (!*doc || !json_is_object(*doc)) {
		snprintf(err->text, sizeof(err->text), "%s",
			 *doc ? "state file is not a JSON object" : jerr.text);
		err->line = *doc ? 0 : jerr.line;
		err->column = *doc ? 0 : jerr.column;
		json_decref(*doc);
		*doc = NULL;
		return -EBADMSG;
	}
	return 0;
}

static int save_json(const char *path, const json_t *doc, bool durable, size_t flags)
{
	char *text = json_dumps(doc, flags);
	if (!text)
		return -ENOMEM;
	size_t n = strlen(text);
	text[n] = '\n'; /* replaces the NUL: write n+1 bytes, no terminator needed */
	int r = fs_write_atomic(path, text, n + 1, 0644, durable);
	free(text);
	return r;
}

int store_save_state(const struct store *s, const json_t *doc)
{
	return save_json(s->state_path, doc, true, JSON_INDENT(2));
}

int store_save_stats(const struct store *s, const json_t *stats, bool durable)
{
	char *text = NULL;
	size_t len;
	int r = save_json(s->stats_path, stats, durable, JSON_INDENT(2));
	if (r == 0 && metrics_render(stats, &text, &len) == 0)
		r = fs_write_atomic(s->metrics_path, text, len, 0644, durable);
	free(text);
	return r;
}

int store_append_history(const struct store *s, const json_t *record)
{
	char *text = json_dumps(record, JSON_COMPACT);
	if (!text)
		return -ENOMEM;
	size_t n = strlen(text);
	text[n] = '\n';
	int r = fs_append_durable(s->history_path, text, n + 1);
	free(text);
	return r;
}

long store_run_count(const struct store *s)
{
	FILE *f = fopen(s->history_path, "re");
	long n = 0;
	int c;
	if (!f)
		return 0;
	while ((c = getc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

int store_committer_open(struct store_committer *c, const struct store *s)
{
	c->journal_fd = -1;
	int r = fs_replacer_open(&c->state, s->state_path, 0644);
	if (r < 0)
		return r;
	c->journal_fd = open(s->journal_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (c->journal_fd < 0) {
		r = -errno;
		store_committer_close(c);
	}
	return r;
}

int store_committer_commit(struct store_committer *c, const char *text, size_t len)
{
	/* one line: one newline at the end (the persister's texts have it) */
	char *line = NULL;
	while (len > 1 && text[len - 1] == '\n' && text[len - 2] == '\n')
		len--;
	if (len == 0 || text[len - 1] != '\n') {
		line = malloc(len + 1);
		if (!line)
			return -ENOMEM;
		memcpy(line, text, len);
		line[len++] = '\n';
		text = line;
	}
	int r = fs_replacer_write(&c->state, text, len);
	/* the journal is history, state.json the truth: no second fsync */
	if (r == 0)
		fs_write_all(c->journal_fd, text, len);
	free(line);
	return r;
}

void store_committer_close(struct store_committer *c)
{
	if (c->state.path && c->journal_fd >= 0) /* a zeroed c has no fd 0 */
		close(c->journal_fd);
	fs_replacer_close(&c->state);
	c->journal_fd = -1;
}

int store_commit_text(const struct store *s, const char *text, size_t len)
{
	struct store_committer c;
	int r = store_committer_open(&c, s);
	if (r == 0)
		r = store_committer_commit(&c, text, len);
	store_committer_close(&c);
	return r;
}

/* A JSON-lines file as an array (missing file: empty; torn lines skipped). */
static int read_jsonl(const char *path, json_t **entries)
{
	char *text = NULL;
	size_t len;
	*entries = json_array();
	if (!*entries)
		return -ENOMEM;
	int r = fs_read_file(path, STATE_MAX_BYTES * 4u, &text, &len);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	for (char *line = text, *nl; (nl = memchr(line, '\n', len - (size_t)(line - text)));
	     line = nl + 1) {
		json_t *e = json_loadb(line, (size_t)(nl - line), 0, NULL);
		if (e)
			json_array_append_new(*entries, e);
	}
	free(text);
	return 0;
}

int store_read_journal(const struct store *s, json_t **entries)
{
	return read_jsonl(s->journal_path, entries);
}

int store_read_history(const struct store *s, json_t **runs)
{
	return read_jsonl(s->history_path, runs);
}

json_t *store_load_stats(const struct store *s)
{
	char *text = NULL;
	size_t len;
	if (fs_read_file(s->stats_path, 64u << 20, &text, &len) < 0)
		return NULL;
	json_t *st = json_loadb(text, len, 0, NULL);
	free(text);
	return st;
}

int store_lock(const struct store *s, bool wait, long *holder)
{
	int fd = open(s->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) < 0) {
		int r = -errno;
		char buf[32] = "";
		ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
		if (holder)
			*holder = n > 0 ? strtol(buf, NULL, 10) : 0;
		close(fd);
		return r == -EAGAIN ? -EWOULDBLOCK : r;
	}
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == 0 && pwrite(fd, buf, (size_t)n, 0) < 0) {
		/* the pid is informative only */
	}
	return fd;
}

void store_remove_stale_temps(const struct store *s)
{
	DIR *d = opendir(s->dir);
	struct dirent *e;
	if (!d)
		return;
	while ((e = readdir(d))) {
		/* fs_write_atomic's temp files: NAME.tmp.PID */
		if (strstr(e->d_name, ".tmp.")) {
			char *p = fs_join(s->dir, e->d_name);
			if (p)
				unlink(p);
			free(p);
		}
	}
	closedir(d);
}
