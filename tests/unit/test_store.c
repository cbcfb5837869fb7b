/*
 * test_store.c - unit tests for the local directory store (store/store.c)
 * and the file helpers under it (util/fs.c).  Each test works in its own
 * mkdtemp directory.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "store/store.h"
#include "util/fs.h"

static int setup_dir(void **st)
{
	char *d = strdup("/tmp/test_store_XXXXXX");
	if (!d || !mkdtemp(d))
		return -1;
	*st = d;
	return 0;
}

static int rm_rf(const char *path)
{
	char cmd[4200];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	return system(cmd);
}

static int teardown_dir(void **st)
{
	rm_rf(*st);
	free(*st);
	return 0;
}

static char *path_in(const char *dir, const char *rel)
{
	char *p = fs_join(dir, rel);
	assert_non_null(p);
	return p;
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static char *read_text(const char *path)
{
	char *s = NULL;
	size_t n;
	assert_int_equal(fs_read_file(path, 1 << 20, &s, &n), 0);
	assert_int_equal(strlen(s), n);
	return s;
}

/* No temp files left in dir. */
static void expect_no_tmp(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	assert_non_null(d);
	while ((e = readdir(d)))
		if (strstr(e->d_name, ".tmp."))
			fail_msg("temp file left: %s", e->d_name);
	closedir(d);
}

static void test_valid_name(void **st)
{
	assert_true(store_valid_name("a"));
	assert_true(store_valid_name("pg-to-s3_v1.2"));
	assert_true(store_valid_name("A9"));
	assert_false(store_valid_name(NULL));
	assert_false(store_valid_name(""));
	assert_false(store_valid_name("."));
	assert_false(store_valid_name(".."));
	assert_false(store_valid_name(".hidden"));
	assert_false(store_valid_name("a/b"));
	assert_false(store_valid_name("../x"));
	assert_false(store_valid_name("a b"));
	assert_false(store_valid_name(" a"));
	assert_false(store_valid_name("a\n"));
	assert_false(store_valid_name("a$"));
	assert_false(store_valid_name("caf\xc3\xa9"));
	char longname[300];
	memset(longname, 'x', sizeof(longname));
	longname[253] = '\0';
	assert_true(store_valid_name(longname));
	longname[253] = 'x';
	longname[254] = '\0';
	assert_false(store_valid_name(longname));
}

static void test_open(void **st)
{
	const char *dir = *st;
	struct store s;

	/* bad names: nothing is created */
	assert_int_equal(store_open(&s, dir, "..", true), -EINVAL);
	assert_int_equal(store_open(&s, dir, "a/b", true), -EINVAL);
	assert_null(s.dir);
	store_release(&s);

	/* without create: paths only */
	assert_int_equal(store_open(&s, dir, "rep", false), 0);
	assert_false(store_exists(&s));
	char *want = path_in(dir, "rep/state.json");
	assert_string_equal(s.state_path, want);
	free(want);
	want = path_in(dir, "rep/history.jsonl");
	assert_string_equal(s.history_path, want);
	free(want);
	want = path_in(dir, "rep/stats.json");
	assert_string_equal(s.stats_path, want);
	free(want);
	store_release(&s);
	assert_null(s.dir);
	store_release(&s);

	/* with create, nested store path */
	char *nested = path_in(dir, "x/y/");
	assert_int_equal(store_open(&s, nested, "rep", true), 0);
	assert_true(store_exists(&s));
	want = path_in(dir, "x/y/rep");
	assert_string_equal(s.dir, want); /* one '/' only */
	free(want);
	store_release(&s);
	/* opening again is fine */
	assert_int_equal(store_open(&s, nested, "rep", true), 0);
	store_release(&s);
	free(nested);

	/* a file in the way */
	char *file = path_in(dir, "afile");
	write_text(file, "x");
	assert_int_equal(store_open(&s, dir, "afile", true), -ENOTDIR);
	assert_null(s.dir);
	free(file);
}

static void test_state_round_trip(void **st)
{
	const char *dir = *st;
	struct store s;
	struct ab_error err = { .text = "" };
	json_t *doc = (json_t *)1;

	assert_int_equal(store_open(&s, dir, "rep", true), 0);
	/* nothing stored yet */
	assert_int_equal(store_load_state(&s, &doc, &err), 0);
	assert_null(doc);

	json_t *in = json_pack("{s:s, s:s, s:i, s:[{s:s, s:{s:{s:s}, s:{s:i}}}]}",
			       "replication", "rep", "type", "STREAM", "run", 3,
			       "state", "type", "STREAM", "stream",
			       "stream_descriptor", "name", "users\xe2\x82\xac\"\\",
			       "stream_state", "cursor", 42);
	assert_non_null(in);
	assert_int_equal(store_save_state(&s, in), 0);
	assert_int_equal(store_load_state(&s, &doc, &err), 0);
	assert_non_null(doc);
	assert_true(json_equal(doc, in));
	json_decref(doc);

	/* the file is plain JSON ending in a newline, no temp file left */
	char *text = read_text(s.state_path);
	size_t n = strlen(text);
	assert_true(n > 2 && text[0] == '{' && text[n - 1] == '\n' && text[n - 2] == '}');
	free(text);
	expect_no_tmp(s.dir);

	/* replaced by the next save */
	json_object_set_new(in, "run", json_integer(4));
	assert_int_equal(store_save_state(&s, in), 0);
	assert_int_equal(store_load_state(&s, &doc, &err), 0);
	assert_int_equal(json_integer_value(json_object_get(doc, "run")), 4);
	json_decref(doc);
	json_decref(in);
	store_release(&s);
}

static void test_corrupt_state(void **st)
{
	const char *dir = *st;
	struct store s;
	struct ab_error err;
	json_t *doc = NULL;
	const char *bad = "{\n  \"state\": [1, 2\n}\n";

	assert_int_equal(store_open(&s, dir, "rep", true), 0);
	write_text(s.state_path, bad);
	memset(&err, 0, sizeof(err));
	assert_int_equal(store_load_state(&s, &doc, &err), -EBADMSG);
	assert_null(doc);
	assert_int_equal(err.line, 3);
	assert_true(err.column >= 1);
	assert_true(err.text[0] != '\0');
	/* the file is left as it was */
	char *text = read_text(s.state_path);
	assert_string_equal(text, bad);
	free(text);

	/* valid JSON but not an object */
	write_text(s.state_path, "[1,2]\n");
	memset(&err, 0, sizeof(err));
	err.line = 99;
	assert_int_equal(store_load_state(&s, &doc, &err), -EBADMSG);
	assert_null(doc);
	assert_non_null(strstr(err.text, "not a JSON object"));
	assert_int_equal(err.line, 0);

	/* empty file */
	write_text(s.state_path, "");
	assert_int_equal(store_load_state(&s, &doc, &err), -EBADMSG);
	assert_null(doc);

	/* trailing garbage */
	write_text(s.state_path, "{} x");
	assert_int_equal(store_load_state(&s, &doc, &err), -EBADMSG);
	store_release(&s);
}

static void test_state_unreadable(void **st)
{
	const char *dir = *st;
	struct store s;
	struct ab_error err;
	json_t *doc = (json_t *)1;

	assert_int_equal(store_open(&s, dir, "rep", true), 0);
	/* a directory where the file should be: an I/O error, not "none" */
	assert_int_equal(mkdir(s.state_path, 0755), 0);
	int r = store_load_state(&s, &doc, &err);
	assert_true(r < 0 && r != -EBADMSG);
	assert_null(doc);
	/* saving cannot replace a directory either, and leaves no temp file */
	json_t *in = json_object();
	assert_true(store_save_state(&s, in) < 0);
	json_decref(in);
	expect_no_tmp(s.dir);
	store_release(&s);
}

static void test_history(void **st)
{
	const char *dir = *st;
	struct store s;

	assert_int_equal(store_open(&s, dir, "rep", true), 0);
	assert_int_equal(store_run_count(&s), 0);
	for (int i = 1; i <= 5; i++) {
		json_t *rec = json_pack("{s:i, s:s, s:{s:i}}", "run", i, "outcome",
					"succeeded", "records", "users", i * 10);
		assert_int_equal(store_append_history(&s, rec), 0);
		json_decref(rec);
		assert_int_equal(store_run_count(&s), i);
	}
	/* one compact JSON object per line, in order */
	char *text = read_text(s.history_path);
	int line = 0;
	for (char *save = NULL, *l = strtok_r(text, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		json_error_t jerr;
		json_t *v = json_loads(l, 0, &jerr);
		assert_non_null(v);
		assert_int_equal(json_integer_value(json_object_get(v, "run")), ++line);
		assert_null(strchr(l, ' '));
		json_decref(v);
	}
	assert_int_equal(line, 5);
	free(text);
	store_release(&s);
}

static void test_stats(void **st)
{
	const char *dir = *st;
	struct store s;

	assert_int_equal(store_open(&s, dir, "rep", true), 0);
	json_t *stats = json_pack("{s:i}", "records", 7);
	assert_int_equal(store_save_stats(&s, stats, false), 0);
	json_object_set_new(stats, "records", json_integer(8));
	assert_int_equal(store_save_stats(&s, stats, true), 0);
	json_decref(stats);
	char *text = read_text(s.stats_path);
	json_t *v = json_loads(text, 0, NULL);
	assert_non_null(v);
	assert_int_equal(json_integer_value(json_object_get(v, "records")), 8);
	json_decref(v);
	free(text);
	expect_no_tmp(s.dir);
	store_release(&s);
}

static void test_fs_helpers(void **st)
{
	const char *dir = *st;
	char *p = path_in(dir, "f");
	char *out = NULL;
	size_t n = 0;

	/* fs_join */
	char *j = fs_join("a/", "b");
	assert_string_equal(j, "a/b");
	free(j);
	j = fs_join("a", "b");
	assert_string_equal(j, "a/b");
	free(j);

	/* fs_read_file: sizes around the limit */
	assert_int_equal(fs_read_file(p, 10, &out, &n), -ENOENT);
	write_text(p, "0123456789");
	assert_int_equal(fs_read_file(p, 10, &out, &n), 0);
	assert_int_equal(n, 10);
	assert_string_equal(out, "0123456789");
	free(out);
	assert_int_equal(fs_read_file(p, 9, &out, &n), -EFBIG);
	write_text(p, "");
	assert_int_equal(fs_read_file(p, 10, &out, &n), 0);
	assert_int_equal(n, 0);
	assert_string_equal(out, "");
	free(out);

	/* a file bigger than the first guess (growth path) */
	char *big = malloc(100001);
	memset(big, 'b', 100000);
	big[100000] = '\0';
	write_text(p, big);
	assert_int_equal(fs_read_file(p, 1 << 20, &out, &n), 0);
	assert_int_equal(n, 100000);
	assert_memory_equal(out, big, n);
	free(out);
	assert_int_equal(fs_read_file(p, 99999, &out, &n), -EFBIG);
	free(big);

	/* fs_write_atomic and fs_append_durable */
	assert_int_equal(fs_write_atomic(p, "abc", 3, 0600, true), 0);
	out = read_text(p);
	assert_string_equal(out, "abc");
	free(out);
	assert_int_equal(fs_append_durable(p, "de", 2), 0);
	out = read_text(p);
	assert_string_equal(out, "abcde");
	free(out);
	char *missing = path_in(dir, "no/such/file");
	assert_int_equal(fs_write_atomic(missing, "x", 1, 0644, true), -ENOENT);
	free(missing);
	expect_no_tmp(dir);

	/* fs_write_all to a closed pipe end */
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(fs_write_all(fds[1], "hey", 3), 0);
	char buf[4] = { 0 };
	assert_int_equal(read(fds[0], buf, 3), 3);
	assert_string_equal(buf, "hey");
	close(fds[0]);
	close(fds[1]);
	assert_int_equal(fs_write_all(fds[1], "x", 1), -EBADF);

	/* fs_mkdir_p */
	char *deep = path_in(dir, "m/n/o");
	assert_int_equal(fs_mkdir_p(deep, 0755), 0);
	assert_int_equal(fs_mkdir_p(deep, 0755), 0);
	struct stat sb;
	assert_int_equal(stat(deep, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	free(deep);
	assert_int_equal(fs_mkdir_p("", 0755), -EINVAL);
	char *under_file = path_in(dir, "f/sub");
	assert_int_equal(fs_mkdir_p(under_file, 0755), -ENOTDIR);
	free(under_file);
	free(p);
}

static ino_t inode_of(const char *path)
{
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	return sb.st_ino;
}

/* fs_replacer: every write replaces the file whole; versions swap inodes */
static void test_replacer(void **st)
{
	const char *dir = *st;
	char *p = path_in(dir, "state.json");
	struct fs_replacer w;
	char *out;

	assert_int_equal(fs_replacer_open(&w, p, 0600), 0);
	/* no file yet: the first write renames its temp file into place */
	assert_int_equal(fs_replacer_write(&w, "first\n", 6), 0);
	out = read_text(p);
	assert_string_equal(out, "first\n");
	free(out);
	assert_int_equal(access(w.tmp, F_OK), -1);
	struct stat sb;
	assert_int_equal(stat(p, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	ino_t first = inode_of(p);

	/* later writes swap: the superseded version is the next temp file */
	assert_int_equal(fs_replacer_write(&w, "second, longer\n", 15), 0);
	out = read_text(p);
	assert_string_equal(out, "second, longer\n");
	free(out);
	out = read_text(w.tmp);
	assert_string_equal(out, "first\n");
	free(out);
	ino_t second = inode_of(p);
	assert_true(second != first);
	assert_true(inode_of(w.tmp) == first);

	/* a shorter version is not followed by the old one's tail */
	assert_int_equal(fs_replacer_write(&w, "3\n", 2), 0);
	out = read_text(p);
	assert_string_equal(out, "3\n");
	free(out);
	assert_true(inode_of(p) == first);
	assert_true(inode_of(w.tmp) == second);

	/* a version a reader has open is not reused: the reader sees it whole */
	int reader = open(p, O_RDONLY); /* "3\n" in the first inode */
	assert_true(reader >= 0);
	assert_int_equal(fs_replacer_write(&w, "fourth\n", 7), 0); /* reuses the second */
	assert_true(inode_of(p) == second);
	assert_int_equal(fs_replacer_write(&w, "fifth\n", 6), 0); /* a fresh one */
	ino_t fifth = inode_of(p);
	assert_true(fifth != first && fifth != second);
	char seen[16] = { 0 };
	assert_int_equal(pread(reader, seen, sizeof(seen) - 1, 0), 2);
	assert_string_equal(seen, "3\n");
	close(reader);
	assert_int_equal(fs_replacer_write(&w, "sixth\n", 6), 0); /* reuses the second again */
	assert_true(inode_of(p) == second);
	out = read_text(p);
	assert_string_equal(out, "sixth\n");
	free(out);

	/* closing removes the temp file and keeps the last version */
	fs_replacer_close(&w);
	expect_no_tmp(dir);
	out = read_text(p);
	assert_string_equal(out, "sixth\n");
	free(out);

	/* where the file system cannot swap, it renames over the file */
	assert_int_equal(fs_replacer_open(&w, p, 0600), 0);
	w.plain_rename = true;
	assert_int_equal(fs_replacer_write(&w, "renamed\n", 8), 0);
	out = read_text(p);
	assert_string_equal(out, "renamed\n");
	free(out);
	assert_int_equal(access(w.tmp, F_OK), -1);
	fs_replacer_close(&w);

	/* a missing directory is reported by open */
	char *missing = path_in(dir, "no/such/file");
	assert_int_equal(fs_replacer_open(&w, missing, 0644), -ENOENT);
	free(missing);
	/* closing a zeroed one closes no fd 0 */
	struct fs_replacer zero = { 0 };
	fs_replacer_close(&zero);
	assert_true(fcntl(0, F_GETFD) != -1);
	free(p);
}

/* A writer killed at any moment leaves one whole version, never a mix. */
static void test_replacer_killed(void **st)
{
	const char *dir = *st;
	char *p = path_in(dir, "state.json");
	char buf[4096];

	for (int round = 0; round < 20; round++) {
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			struct fs_replacer w;
			if (fs_replacer_open(&w, p, 0644) < 0)
				_exit(1);
			/* versions of every length from 1 to 3000 bytes: "<n>:" then n-digit fill */
			for (unsigned v = 1;; v = v % 3000 + 1) {
				int n = snprintf(buf, sizeof(buf), "%u:", v);
				memset(buf + n, '0' + v % 10, v);
				if (fs_replacer_write(&w, buf, (size_t)n + v) < 0)
					_exit(1);
			}
		}
		usleep(2000 + (useconds_t)(rand() % 20000));
		kill(pid, SIGKILL);
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFSIGNALED(status));
		char *out = NULL;
		size_t n = 0;
		if (fs_read_file(p, 1 << 20, &out, &n) == -ENOENT)
			continue; /* killed before the first write landed */
		unsigned v = 0;
		int head = 0;
		assert_int_equal(sscanf(out, "%u:%n", &v, &head), 1);
		assert_int_equal(n, (size_t)head + v);
		for (size_t i = (size_t)head; i < n; i++)
			if (out[i] != (char)('0' + v % 10))
				fail_msg("round %d: byte %zu of version %u is '%c'", round, i, v, out[i]);
		free(out);
	}
	free(p);
}

/* store_committer: many commits, each durable state.json plus a journal line */
static void test_committer(void **st)
{
	const char *dir = *st;
	struct store s;
	struct store_committer c;
	struct ab_error err = { .text = "" };
	json_t *doc = NULL, *journal = NULL;

	assert_int_equal(store_open(&s, dir, "rep", true), 0);
	assert_int_equal(store_committer_open(&c, &s), 0);
	for (int i = 1; i <= 3; i++) {
		char text[64];
		int n = snprintf(text, sizeof(text), "{\"run\":1,\"state\":{\"cursor\":%d}}\n", i);
		assert_int_equal(store_committer_commit(&c, text, (size_t)n), 0);
		assert_int_equal(store_load_state(&s, &doc, &err), 0);
		assert_int_equal(json_integer_value(json_object_get(json_object_get(doc, "state"), "cursor")), i);
		json_decref(doc);
	}
	store_committer_close(&c);
	expect_no_tmp(s.dir);
	assert_int_equal(store_read_journal(&s, &journal), 0);
	assert_int_equal(json_array_size(journal), 3);
	json_decref(journal);

	/* the one-shot commit appends to the same journal */
	assert_int_equal(store_commit_text(&s, "{\"run\":2,\"state\":{}}", 20), 0);
	expect_no_tmp(s.dir);
	assert_int_equal(store_read_journal(&s, &journal), 0);
	assert_int_equal(json_array_size(journal), 4);
	json_decref(journal);
	/* either way state.json is one line: one newline, added or kept */
	char *raw = NULL;
	size_t raw_len = 0;
	assert_int_equal(fs_read_file(s.state_path, 4096, &raw, &raw_len), 0);
	assert_string_equal(raw, "{\"run\":2,\"state\":{}}\n");
	free(raw);
	assert_int_equal(store_commit_text(&s, "{\"run\":3}\n\n\n", 12), 0);
	assert_int_equal(fs_read_file(s.state_path, 4096, &raw, &raw_len), 0);
	assert_string_equal(raw, "{\"run\":3}\n");
	free(raw);
	struct store_committer zero = { 0 };
	store_committer_close(&zero);
	assert_true(fcntl(0, F_GETFD) != -1);
	store_release(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_name),
		cmocka_unit_test_setup_teardown(test_open, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_state_round_trip, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_corrupt_state, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_state_unreadable, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_history, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_stats, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_fs_helpers, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_replacer, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_replacer_killed, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_committer, setup_dir, teardown_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
