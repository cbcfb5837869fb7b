#include "cli/options.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/replication.h"
#include "util/fs.h"

enum {
	OPT_COMMAND = 256, OPT_REPLICATION, OPT_PIPES, OPT_SECRETS, OPT_STORAGE,
	OPT_STORE_PATH, OPT_STORE, OPT_SRC_EP, OPT_DST_EP, OPT_SRC_CFG, OPT_DST_CFG,
	OPT_CATALOG, OPT_CONNECT_TO, OPT_HEARTBEAT, OPT_GRACE, OPT_DRAIN, OPT_MAX_LINE,
	OPT_LOG_LEVEL, OPT_SPEC_TO, OPT_FILE, OPT_METRICS, OPT_VERSION, OPT_SCHEMA, OPT_DATA, OPT_CRON, OPT_NEXT, OPT_STREAM,
	OPT_JSON, OPT_WATCH, OPT_STRICT,
};

/* flag, environment variable, default */
static const struct setting {
	int id;
	const char *flag, *env, *def;
} settings[] = {
	{ OPT_REPLICATION, "replication", "AIRBYTE_REPLICATION", NULL },
	{ OPT_PIPES, "pipes-dir", "AIRBYTE_PIPES_DIR", "/pipes" },
	{ OPT_SECRETS, "secrets-dir", "AIRBYTE_SECRETS_DIR", "/secrets" },
	{ OPT_STORAGE, "storage-dir", "AIRBYTE_STORAGE_DIR", "/storage" },
	{ OPT_STORE_PATH, "store-path", "AIRBYTE_STORE_PATH", NULL },
	{ OPT_STORE, "store", "AIRBYTE_STORE", "local" },
	{ OPT_SRC_EP, "source-entrypoint", "AIRBYTE_SOURCE_ENTRYPOINT", NULL },
	{ OPT_DST_EP, "destination-entrypoint", "AIRBYTE_DESTINATION_ENTRYPOINT", NULL },
	{ OPT_SRC_CFG, "source-config", "AIRBYTE_SOURCE_CONFIG", NULL },
	{ OPT_DST_CFG, "destination-config", "AIRBYTE_DESTINATION_CONFIG", NULL },
	{ OPT_CATALOG, "catalog", "AIRBYTE_CATALOG", NULL },
	{ OPT_CONNECT_TO, "connect-timeout", "AIRBYTE_CONNECT_TIMEOUT", "60" },
	{ OPT_HEARTBEAT, "heartbeat-timeout", "AIRBYTE_HEARTBEAT_TIMEOUT", "10800" },
	{ OPT_GRACE, "grace-period", "AIRBYTE_GRACE_PERIOD", "5" },
	{ OPT_DRAIN, "drain-timeout", "AIRBYTE_DRAIN_TIMEOUT", "60" },
	{ OPT_SPEC_TO, "spec-timeout", "AIRBYTE_SPEC_TIMEOUT", "30" },
	{ OPT_MAX_LINE, "max-line-bytes", "AIRBYTE_MAX_LINE_BYTES", "104857600" },
	{ OPT_LOG_LEVEL, "log-level", "AIRBYTE_LOG_LEVEL", "info" },
	{ OPT_FILE, "file", "AIRBYTE_REPLICATION_FILE", NULL },
	{ OPT_METRICS, "metrics-addr", "AIRBYTE_METRICS_ADDR", NULL },
};
#define NSETTINGS (sizeof(settings) / sizeof(*settings))

void options_usage(void)
{
	fputs(
"usage: airbyte-replication-driver COMMAND --replication NAME [options]\n"
"       airbyte-replication-driver --command COMMAND --replication NAME [options]\n"
"\n"
"Runs Airbyte connectors without the Airbyte platform.\n"
"\n"
"commands:\n"
"  init         copy this binary to <storage-dir>/airbyte-replication-driver\n"
"  destination  create the pipes, run the destination connector, commit states\n"
"  source       connect to the destination, run the source connector, stream\n"
"  run          both roles locally, as child processes (no containers)\n"
"  state        print the committed state (--store-path DIR); also\n"
"               state history | set FILE | reset [--stream S] | rollback N\n"
"  history      the runs of a replication (--json)\n"
"  progress     what a running replication is doing (--json, --watch)\n"
"  list         the replications in a store\n"
"\n"
"options (each also set by the environment variable shown):\n"
"  --replication NAME            AIRBYTE_REPLICATION\n"
"  --pipes-dir DIR               AIRBYTE_PIPES_DIR (/pipes; run: a private temp dir)\n"
"  --secrets-dir DIR             AIRBYTE_SECRETS_DIR (/secrets): source-file.json,\n"
"                                destination-file.json, catalog-file.json\n"
"  --storage-dir DIR             AIRBYTE_STORAGE_DIR (/storage)\n"
"  --store-path DIR              AIRBYTE_STORE_PATH (<storage-dir>/store)\n"
"  --store local|k8s             AIRBYTE_STORE (local); k8s: state kept by the operator\n"
"  --source-entrypoint CMD       AIRBYTE_SOURCE_ENTRYPOINT, else AIRBYTE_ENTRYPOINT\n"
"  --destination-entrypoint CMD  AIRBYTE_DESTINATION_ENTRYPOINT, else AIRBYTE_ENTRYPOINT\n"
"  --source-config FILE          AIRBYTE_SOURCE_CONFIG\n"
"  --destination-config FILE     AIRBYTE_DESTINATION_CONFIG\n"
"  --catalog FILE                AIRBYTE_CATALOG\n"
"  --connect-timeout SECS        AIRBYTE_CONNECT_TIMEOUT (60): waiting for the peer\n"
"  --heartbeat-timeout SECS      AIRBYTE_HEARTBEAT_TIMEOUT (10800): source silent; 0 = never\n"
"  --grace-period SECS           AIRBYTE_GRACE_PERIOD (5): SIGTERM to SIGKILL\n"
"  --drain-timeout SECS          AIRBYTE_DRAIN_TIMEOUT (60): destination finishing\n"
"                                after the source failed\n"
"  --max-line-bytes N            AIRBYTE_MAX_LINE_BYTES (104857600)\n"
"  --spec-timeout SECS           AIRBYTE_SPEC_TIMEOUT (30): the connector's `spec`, run\n"
"                                first to check its config and mask its secrets;\n"
"                                0 = skip\n"
"  --strict-config               a config that fails its connector's spec stops\n"
"                                the run (default: a warning); env AIRBYTE_STRICT_CONFIG=1\n"
"  --log-level LEVEL             AIRBYTE_LOG_LEVEL (info): debug, info, warn, error\n"
"  --file FILE                   AIRBYTE_REPLICATION_FILE: the whole replication in\n"
"                                one YAML or JSON file (name, source, destination,\n"
"                                catalog, schedule)\n"
"  --metrics-addr HOST:PORT      AIRBYTE_METRICS_ADDR: serve Prometheus /metrics while\n"
"                                running (a textfile is always in the store)\n"
"\n"
"exit codes: 0 success, 1 replication failed, 2 usage or configuration error,\n"
"3 timeout, 126/127 connector cannot be executed, 128+N stopped by signal N.\n",
	      stdout);
}

static int parse_seconds(const char *flag, const char *v, double *out)
{
	char *end;
	errno = 0;
	double d = strtod(v, &end);
	if (errno || end == v || *end || d < 0) {
		fprintf(stderr, "airbyte-replication-driver: --%s wants a number of seconds, not '%s'\n",
			flag, v);
		return -EINVAL;
	}
	*out = d;
	return 0;
}

static const char *own(struct options *o, char *s)
{
	for (size_t i = 0; i < sizeof(o->owned) / sizeof(*o->owned); i++) {
		if (!o->owned[i]) {
			o->owned[i] = s;
			return s;
		}
	}
	abort(); /* more owned strings than slots: a programming error */
}

/* The replication file fills what flags and environment left unset. */
static int load_file(struct options *o)
{
	struct replication_file rf;
	struct ab_error err = { 0 };
	struct driver_config *cfg = &o->cfg;
	if (replication_file_load(o->file, &rf, &err) < 0) {
		fprintf(stderr, "airbyte-replication-driver: replication file '%s': %s%s", o->file, err.text,
			err.line ? "" : "\n");
		if (err.line)
			fprintf(stderr, " (line %d, column %d)\n", err.line, err.column);
		return -EINVAL;
	}
	int r = -EINVAL;
	if (cfg->replication && strcmp(cfg->replication, rf.name)) {
		fprintf(stderr, "airbyte-replication-driver: --replication '%s' differs from the name '%s' in '%s'\n",
			cfg->replication, rf.name, o->file);
		goto out;
	}
	const char *tmp = getenv("TMPDIR");
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/airbyte-secrets-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir) || replication_file_materialise(&rf, dir) < 0) {
		fprintf(stderr, "airbyte-replication-driver: cannot write the connector configs of '%s' to '%s': %s\n",
			o->file, dir, strerror(errno));
		goto out;
	}
	o->file_dir = strdup(dir);
	cfg->secrets_dir = own(o, strdup(dir));
	if (!cfg->replication)
		cfg->replication = own(o, strdup(rf.name));
	if (!cfg->source_entrypoint && rf.source_entrypoint)
		cfg->source_entrypoint = own(o, strdup(rf.source_entrypoint));
	if (!cfg->destination_entrypoint && rf.destination_entrypoint)
		cfg->destination_entrypoint = own(o, strdup(rf.destination_entrypoint));
	if (!o->cron && rf.schedule)
		o->cron = own(o, strdup(rf.schedule));
	r = 0;
out:
	replication_file_release(&rf);
	return r;
}

int options_parse(struct options *o, int argc, char **argv)
{
	const char *val[NSETTINGS] = { 0 };
	struct option longs[NSETTINGS + 12];
	size_t n = 0;

	memset(o, 0, sizeof(*o));
	o->cfg.argv0 = argv[0];
	o->argc = argc;
	o->argv = argv;
	for (size_t i = 0; i < NSETTINGS; i++)
		longs[n++] = (struct option){ settings[i].flag, required_argument, NULL, settings[i].id };
	longs[n++] = (struct option){ "command", required_argument, NULL, OPT_COMMAND };
	longs[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	longs[n++] = (struct option){ "version", no_argument, NULL, OPT_VERSION };
	longs[n++] = (struct option){ "schema", required_argument, NULL, OPT_SCHEMA };
	longs[n++] = (struct option){ "data", required_argument, NULL, OPT_DATA };
	longs[n++] = (struct option){ "cron", required_argument, NULL, OPT_CRON };
	longs[n++] = (struct option){ "next", required_argument, NULL, OPT_NEXT };
	longs[n++] = (struct option){ "stream", required_argument, NULL, OPT_STREAM };
	longs[n++] = (struct option){ "json", no_argument, NULL, OPT_JSON };
	longs[n++] = (struct option){ "watch", no_argument, NULL, OPT_WATCH };
	longs[n++] = (struct option){ "strict-config", no_argument, NULL, OPT_STRICT };
	longs[n] = (struct option){ 0 };

	optind = 1;
	opterr = 1;
	int c;
	while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		if (c == 'h') {
			o->help = true;
		} else if (c == OPT_VERSION) {
			o->version = true;
		} else if (c == OPT_COMMAND) {
			o->command = optarg;
		} else if (c == OPT_SCHEMA) {
			o->schema = optarg;
		} else if (c == OPT_DATA) {
			o->data = optarg;
		} else if (c == OPT_CRON) {
			o->cron = optarg;
		} else if (c == OPT_STREAM) {
			o->stream = optarg;
		} else if (c == OPT_JSON) {
			o->json = true;
		} else if (c == OPT_WATCH) {
			o->watch = true;
		} else if (c == OPT_STRICT) {
			o->cfg.strict_config = true;
		} else if (c == OPT_NEXT) {
			char *end;
			o->next = strtol(optarg, &end, 10);
			if (*end || o->next < 1 || o->next > 100000) {
				fprintf(stderr, "airbyte-replication-driver: --next wants a count from 1 to 100000, not '%s'\n", optarg);
				return -EINVAL;
			}
		} else if (c == '?') {
			fprintf(stderr, "airbyte-replication-driver: see --help for the options\n");
			return -EINVAL;
		} else {
			for (size_t i = 0; i < NSETTINGS; i++)
				if (settings[i].id == c)
					val[i] = optarg;
		}
	}
	if (!o->command && optind < argc)
		o->command = argv[optind++];
	o->args = argv + optind;
	o->nargs = argc - optind;

	for (size_t i = 0; i < NSETTINGS; i++) {
		if (settings[i].id == OPT_PIPES && val[i])
			o->pipes_dir_given = true;
		if (!val[i]) {
			const char *e = getenv(settings[i].env);
			if (e && *e) {
				val[i] = e;
				if (settings[i].id == OPT_PIPES)
					o->pipes_dir_given = true;
			}
		}
		if (!val[i])
			val[i] = settings[i].def;
	}

	struct driver_config *cfg = &o->cfg;
	for (size_t i = 0; i < NSETTINGS; i++) {
		const char *v = val[i];
		switch (settings[i].id) {
		case OPT_REPLICATION: cfg->replication = v; break;
		case OPT_PIPES: cfg->pipes_dir = v; break;
		case OPT_SECRETS: cfg->secrets_dir = v; break;
		case OPT_STORAGE: cfg->storage_dir = v; break;
		case OPT_STORE_PATH: cfg->store_path = v; break;
		case OPT_STORE: o->store = v; break;
		case OPT_SRC_EP: cfg->source_entrypoint = v; break;
		case OPT_DST_EP: cfg->destination_entrypoint = v; break;
		case OPT_SRC_CFG: cfg->source_config = v; break;
		case OPT_DST_CFG: cfg->destination_config = v; break;
		case OPT_CATALOG: cfg->catalog = v; break;
		case OPT_LOG_LEVEL: o->log_level = v; break;
		case OPT_FILE: o->file = v; break;
		case OPT_METRICS: cfg->metrics_addr = v; break;
		case OPT_CONNECT_TO:
			if (parse_seconds(settings[i].flag, v, &cfg->connect_timeout) < 0)
				return -EINVAL;
			break;
		case OPT_HEARTBEAT:
			if (parse_seconds(settings[i].flag, v, &cfg->heartbeat_timeout) < 0)
				return -EINVAL;
			break;
		case OPT_GRACE:
			if (parse_seconds(settings[i].flag, v, &cfg->grace_period) < 0)
				return -EINVAL;
			break;
		case OPT_DRAIN:
			if (parse_seconds(settings[i].flag, v, &cfg->drain_timeout) < 0)
				return -EINVAL;
			break;
		case OPT_SPEC_TO:
			if (parse_seconds(settings[i].flag, v, &cfg->spec_timeout) < 0)
				return -EINVAL;
			break;
		case OPT_MAX_LINE: {
			char *end;
			cfg->max_line = strtoul(v, &end, 10);
			if (*end || cfg->max_line < 1024) {
				fprintf(stderr, "airbyte-replication-driver: --max-line-bytes wants a byte count of at least 1024, not '%s'\n", v);
				return -EINVAL;
			}
			break;
		}
		}
	}
	const char *strict = getenv("AIRBYTE_STRICT_CONFIG");
	if (strict && !strcmp(strict, "1"))
		cfg->strict_config = true;
	if (o->file && load_file(o) < 0)
		return -EINVAL;
	/* a connector image's own command, when the role-specific one is unset */
	const char *ep = getenv("AIRBYTE_ENTRYPOINT");
	if (ep && *ep && o->command) {
		if (!strcmp(o->command, "source") && !cfg->source_entrypoint)
			cfg->source_entrypoint = ep;
		if (!strcmp(o->command, "destination") && !cfg->destination_entrypoint)
			cfg->destination_entrypoint = ep;
	}
	if (!cfg->store_path)
		cfg->store_path = own(o, fs_join(cfg->storage_dir, "store"));
	if (!cfg->source_config)
		cfg->source_config = own(o, fs_join(cfg->secrets_dir, "source-file.json"));
	if (!cfg->destination_config)
		cfg->destination_config = own(o, fs_join(cfg->secrets_dir, "destination-file.json"));
	if (!cfg->catalog)
		cfg->catalog = own(o, fs_join(cfg->secrets_dir, "catalog-file.json"));
	return 0;
}

void options_release(struct options *o)
{
	if (o->file_dir) {
		static const char *const files[] = { "source-file.json", "destination-file.json",
						     "catalog-file.json" };
		for (size_t i = 0; i < 3; i++) {
			char *p = fs_join(o->file_dir, files[i]);
			if (p)
				unlink(p);
			free(p);
		}
		rmdir(o->file_dir);
		free(o->file_dir);
	}
	for (size_t i = 0; i < sizeof(o->owned) / sizeof(*o->owned); i++)
		free(o->owned[i]);
	memset(o, 0, sizeof(*o));
}
