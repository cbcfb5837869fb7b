/*
 * main.c - airbyte-replication-operator: the Kubernetes controller and its
 * small helpers.
 *
 *   run         the controller (leader election, watches, /healthz,
 *               /readyz, /metrics); the default command
 *   sync-state  the sidecar of a replication Pod (statesync.c)
 *   state       print the committed state of a replication or connection
 *   trigger     ask for a run of a connection now
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "operator/controller.h"
#include "operator/kube.h"
#include "operator/leader.h"
#include "operator/statesync.h"
#include "util/httpd.h"
#include "util/log.h"

#define EXIT_USAGE 2

static const char usage[] =
"usage: airbyte-replication-operator [COMMAND] [OPTIONS]\n"
"\n"
"commands:\n"
"  run          run the controller (default)\n"
"  sync-state   the state sidecar of a replication pod (--output, --replication)\n"
"  state        print the committed state (--replication NAME: a replication or a connection)\n"
"  trigger      start a run of a connection now (--connection NAME)\n"
"\n"
"options (environment in parentheses):\n"
"  --kubeconfig FILE        a kubeconfig, or 'in-cluster' (KUBECONFIG; default:\n"
"                           in-cluster when KUBERNETES_SERVICE_HOST is set, else ~/.kube/config)\n"
"  --namespace NS           (AIRBYTE_NAMESPACE; default: the configuration's)\n"
"  --listen ADDR            /healthz, /readyz, /metrics (AIRBYTE_OPERATOR_LISTEN; :8080)\n"
"  --driver-image IMAGE     image with the driver and this binary, for the init and\n"
"                           state-sync containers (AIRBYTE_DRIVER_IMAGE;\n"
"                           docker.io/h7kanna/airbyte-replication-operator:0.0.1)\n"
"  --driver-service-account NAME  for the state-sync container (airbyte-replication-driver)\n"
"  --image-pull-policy P    for every container of a replication pod (default: unset)\n"
"  --lease-name NAME        (airbyte-replication-operator)   --lease-duration SECONDS (15)\n"
"  --identity ID            this candidate's name (POD_NAME, else host-pid)\n"
"  --stuck-grace SECONDS    connectors done but the pod runs on: delete it after (30)\n"
"  --output NAME --replication NAME --run NAME --store-path DIR --interval-ms N\n"
"                           (sync-state; --run: the Replication object)\n"
"  --connection NAME        (trigger)\n"
"  --log-level debug|info|warn|error\n";

struct opts {
	const char *command, *kubeconfig, *ns, *listen, *driver_image, *driver_sa, *pull_policy;
	const char *lease_name, *identity, *output, *replication, *run, *store_path, *connection;
	int lease_duration, stuck_grace, interval_ms;
};

static const char *env_or(const char *name, const char *dflt)
{
	const char *v = getenv(name);
	return v && *v ? v : dflt;
}

static int parse(int argc, char **argv, struct opts *o)
{
	enum { O_KUBECONFIG = 256, O_NS, O_LISTEN, O_IMAGE, O_SA, O_PULL, O_LEASE, O_LEASE_DUR,
	       O_ID, O_GRACE, O_OUTPUT, O_REPL, O_RUN, O_STORE, O_INTERVAL, O_CONN, O_LOG, O_HELP };
	static const struct option long_opts[] = {
		{ "kubeconfig", 1, 0, O_KUBECONFIG }, { "namespace", 1, 0, O_NS },
		{ "listen", 1, 0, O_LISTEN }, { "driver-image", 1, 0, O_IMAGE },
		{ "driver-service-account", 1, 0, O_SA }, { "image-pull-policy", 1, 0, O_PULL },
		{ "lease-name", 1, 0, O_LEASE }, { "lease-duration", 1, 0, O_LEASE_DUR },
		{ "identity", 1, 0, O_ID }, { "stuck-grace", 1, 0, O_GRACE },
		{ "output", 1, 0, O_OUTPUT }, { "replication", 1, 0, O_REPL }, { "run", 1, 0, O_RUN },
		{ "store-path", 1, 0, O_STORE }, { "interval-ms", 1, 0, O_INTERVAL },
		{ "connection", 1, 0, O_CONN }, { "log-level", 1, 0, O_LOG },
		{ "help", 0, 0, O_HELP }, { 0, 0, 0, 0 },
	};
	*o = (struct opts){
		.command = "run",
		.kubeconfig = env_or("KUBECONFIG", NULL),
		.ns = env_or("AIRBYTE_NAMESPACE", NULL),
		.listen = env_or("AIRBYTE_OPERATOR_LISTEN", ":8080"),
		.driver_image = env_or("AIRBYTE_DRIVER_IMAGE",
				       "docker.io/h7kanna/airbyte-replication-operator:0.0.1"),
		.driver_sa = "airbyte-replication-driver",
		.lease_name = OPERATOR_NAME,
		.identity = env_or("POD_NAME", NULL),
		.store_path = "/storage/store",
		.lease_duration = 15, .stuck_grace = 30, .interval_ms = 250,
	};
	if (argc > 1 && argv[1][0] != '-')
		o->command = argv[1], optind = 2;
	int ch;
	while ((ch = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
		switch (ch) {
		case O_KUBECONFIG: o->kubeconfig = optarg; break;
		case O_NS: o->ns = optarg; break;
		case O_LISTEN: o->listen = optarg; break;
		case O_IMAGE: o->driver_image = optarg; break;
		case O_SA: o->driver_sa = *optarg ? optarg : NULL; break;
		case O_PULL: o->pull_policy = optarg; break;
		case O_LEASE: o->lease_name = optarg; break;
		case O_LEASE_DUR: o->lease_duration = atoi(optarg); break;
		case O_ID: o->identity = optarg; break;
		case O_GRACE: o->stuck_grace = atoi(optarg); break;
		case O_OUTPUT: o->output = optarg; break;
		case O_REPL: o->replication = optarg; break;
		case O_RUN: o->run = optarg; break;
		case O_STORE: o->store_path = optarg; break;
		case O_INTERVAL: o->interval_ms = atoi(optarg); break;
		case O_CONN: o->connection = optarg; break;
		case O_LOG:
			if (!strcmp(optarg, "debug")) log_set_min_level(LOG_DEBUG);
			else if (!strcmp(optarg, "info")) log_set_min_level(LOG_INFO);
			else if (!strcmp(optarg, "warn")) log_set_min_level(LOG_WARN);
			else if (!strcmp(optarg, "error")) log_set_min_level(LOG_ERROR);
			else {
				fprintf(stderr, "airbyte-replication-operator: unknown --log-level '%s' (debug, info, warn, error)\n", optarg);
				return -1;
			}
			break;
		case O_HELP: case 'h': fputs(usage, stdout); exit(0);
		default: fputs(usage, stderr); return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "airbyte-replication-operator: unexpected argument '%s'\n%s", argv[optind], usage);
		return -1;
	}
	if (o->lease_duration < 2 || o->stuck_grace < 1 || o->interval_ms < 10) {
		fprintf(stderr, "airbyte-replication-operator: --lease-duration must be >= 2, --stuck-grace >= 1, --interval-ms >= 10\n");
		return -1;
	}
	return 0;
}

static int connect_api(const struct opts *o, struct kube *k)
{
	char *why = NULL;
	int r = kube_load(k, o->kubeconfig, &why);
	if (r < 0) {
		log_error("%s", why ? why : strerror(-r));
		free(why);
		return -1;
	}
	if (o->ns) {
		free(k->namespace);
		k->namespace = strdup(o->ns);
	}
	return 0;
}

/* ---- run: the controller ------------------------------------------------ */

struct server {
	struct ctl *ctl;
	struct leader *leader;
	struct httpd h;
	volatile bool stop;
	atomic_bool leading;
	atomic_llong alive_at;   /* the election loop's last turn (monotonic ms) */
	int lease_ms;
};

static int serve(void *ctx, const char *path, char **body, size_t *len, const char **type)
{
	struct server *s = ctx;
	bool leading = atomic_load(&s->leading);
	int code = 0;
	if (!strcmp(path, "/healthz") || !strcmp(path, "/health")) {
		/* the election loop is turning (a stuck one would be unsafe) */
		*body = strdup(mono_ms() - atomic_load(&s->alive_at) < 2L * s->lease_ms ? "ok\n" : "stuck\n");
		code = strcmp(*body, "ok\n") ? -EIO : 0;
	} else if (!strcmp(path, "/readyz")) {
		/* a standby is ready; the leader once every watch has listed */
		bool ready = !leading || atomic_load(&s->ctl->synced);
		*body = strdup(ready ? "ok\n" : "syncing\n");
		code = ready ? 0 : -EAGAIN;
	} else if (!strcmp(path, "/metrics")) {
		*body = ctl_metrics_text(s->ctl, leading);
		*type = "text/plain; version=0.0.4";
	} else {
		return -ENOENT;
	}
	if (!*body)
		return -ENOMEM;
	*len = strlen(*body);
	return code;
}

static void *http_loop(void *arg)
{
	struct server *s = arg;
	while (!s->stop) {
		struct pollfd p[HTTPD_MAX_FDS];
		int n = httpd_fds(&s->h, p, HTTPD_MAX_FDS);
		int t = httpd_timeout(&s->h);
		poll(p, (nfds_t)n, t < 0 || t > 200 ? 200 : t);
		httpd_handle(&s->h, p, n, serve, s);
	}
	return NULL;
}

static int cmd_run(const struct opts *o, struct kube *k)
{
	char ident[256];
	if (o->identity)
		snprintf(ident, sizeof(ident), "%s", o->identity);
	else {
		char host[200] = "operator";
		gethostname(host, sizeof(host) - 1);
		snprintf(ident, sizeof(ident), "%s-%d", host, (int)getpid());
	}
	struct ctl ctl = { .k = k, .ns = k->namespace, .stuck_grace_s = o->stuck_grace,
			   .pod = { .driver_image = o->driver_image, .service_account = o->driver_sa,
				    .pull_policy = o->pull_policy } };
	struct leader leader;
	leader_init(&leader, k, k->namespace, o->lease_name, ident, o->lease_duration);
	static struct server s;
	s.ctl = &ctl;
	s.leader = &leader;
	s.lease_ms = o->lease_duration * 1000;
	atomic_store(&s.alive_at, mono_ms());
	const char *why = NULL;
	if (httpd_open(&s.h, o->listen, &why) < 0) {
		log_error("cannot listen on '%s': %s: %s", o->listen, why ? why : "listen", strerror(errno));
		return EXIT_USAGE;
	}
	log_info("operator '%s' in namespace '%s' (API %s, from %s); health on port %d", ident,
		 k->namespace, k->server, k->source, httpd_port(&s.h));

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL); /* every thread inherits this */
	pthread_t http;
	pthread_create(&http, NULL, http_loop, &s);

	/* renew three times per lease duration, as client-go's defaults do */
	int period_ms = o->lease_duration * 1000 / 3;
	bool running = false;
	int sig = 0;
	for (;;) {
		bool lead = leader_step(&leader);
		atomic_store(&s.alive_at, mono_ms());
		if (lead && !running) {
			if (ctl_start(&ctl) < 0) {
				log_error("cannot start the controller threads");
				break;
			}
			running = true;
		} else if (!lead && running) {
			log_warn("lost the lease: stopping the controller");
			ctl_stop(&ctl);
			running = false;
		}
		atomic_store(&s.leading, lead);
		struct timespec ts = { period_ms / 1000, (long)(period_ms % 1000) * 1000000 };
		sig = sigtimedwait(&set, NULL, &ts);
		if (sig > 0)
			break;
	}
	log_info("signal %d: stopping", sig);
	if (running)
		ctl_stop(&ctl);
	leader_release(&leader);
	s.stop = true;
	pthread_join(http, NULL);
	httpd_close(&s.h);
	return 0;
}

/* ---- state and trigger --------------------------------------------------- */

static int cmd_state(const struct opts *o, struct kube *k)
{
	if (!o->replication) {
		log_error("state: give --replication NAME (a replication or a connection)");
		return EXIT_USAGE;
	}
	json_t *out = NULL, *repl = NULL;
	int r = kube_get(k, &KIND_REPLICATION_OUTPUT, k->namespace, o->replication, &out);
	if (r == -ENOENT && kube_get(k, &KIND_REPLICATION, k->namespace, o->replication, &repl) == 0) {
		const char *conn = json_string_value(json_object_get(json_object_get(
			json_object_get(repl, "spec"), "connectionRef"), "name"));
		r = conn ? kube_get(k, &KIND_REPLICATION_OUTPUT, k->namespace, conn, &out) : -ENOENT;
	}
	json_decref(repl);
	if (r == -ENOENT) {
		log_error("no committed state for '%s' in namespace '%s': no ReplicationOutput of that connection (has it run?)",
			  o->replication, k->namespace);
		return 1;
	}
	if (r < 0) {
		log_error("cannot read the state of '%s' from %s: %s", o->replication, k->server,
			  strerror(-r));
		return 1;
	}
	json_t *data = json_object_get(json_object_get(json_object_get(out, "status"), "state"), "data");
	int code = 0;
	if (json_is_null(data) || !data) { /* a null state: nothing committed */
		log_error("'%s' has no committed state yet", o->replication);
		code = 1;
	} else {
		char *text = json_dumps(data, JSON_INDENT(2));
		puts(text ? text : "");
		free(text);
		code = fflush(stdout) == 0 ? 0 : 1;
	}
	json_decref(out);
	return code;
}

static int cmd_trigger(const struct opts *o, struct kube *k)
{
	if (!o->connection) {
		log_error("trigger: give --connection NAME");
		return EXIT_USAGE;
	}
	char now[32];
	kube_time(now, sizeof(now), (long long)time(NULL));
	json_t *patch = json_pack("{s:{s:{s:s}}}", "metadata", "annotations",
				  "airbyte.pravaah.dev/trigger", now);
	json_t *ans = NULL;
	int st = kube_patch(k, &KIND_CONNECTION, k->namespace, o->connection, NULL, patch, &ans);
	json_decref(patch);
	int code = 0;
	if (st != 200) {
		log_error("cannot trigger connection '%s': %s", o->connection,
			  st < 0 ? strerror(-st) : kube_status_message(ans));
		code = 1;
	} else {
		printf("connection '%s' triggered: the operator creates its replication\n", o->connection);
	}
	json_decref(ans);
	return code;
}

int main(int argc, char **argv)
{
	struct opts o;
	signal(SIGPIPE, SIG_IGN);
	if (parse(argc, argv, &o) < 0)
		return EXIT_USAGE;
	log_set_context(o.replication ? o.replication : "-", o.command);
	if (kube_global_init() < 0) {
		log_error("cannot initialise libcurl");
		return 1;
	}
	bool known = !strcmp(o.command, "run") || !strcmp(o.command, "sync-state") ||
		     !strcmp(o.command, "state") || !strcmp(o.command, "trigger");
	if (!known) {
		fprintf(stderr, "airbyte-replication-operator: unknown command '%s'\n%s", o.command, usage);
		return EXIT_USAGE;
	}
	if (!strcmp(o.command, "sync-state") && (!o.output || !o.replication)) {
		log_error("sync-state: give --output NAME and --replication NAME");
		return EXIT_USAGE;
	}
	struct kube k;
	if (connect_api(&o, &k) < 0)
		return EXIT_USAGE;
	int code;
	if (!strcmp(o.command, "run")) {
		code = cmd_run(&o, &k);
	} else if (!strcmp(o.command, "sync-state")) {
		struct statesync_options so = { .output = o.output, .replication = o.replication,
						.run = o.run,
						.store_path = o.store_path, .ns = o.ns,
						.interval_ms = o.interval_ms, .linger_ms = 10000,
						.final_timeout_ms = 15000 };
		code = statesync_run(&k, &so);
	} else if (!strcmp(o.command, "state")) {
		code = cmd_state(&o, &k);
	} else {
		code = cmd_trigger(&o, &k);
	}
	kube_release(&k);
	return code;
}
