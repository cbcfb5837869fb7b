/*
 * decide.c - Pod status -> run outcome; schedules.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "operator/decide.h"

const char *phase_name(enum run_phase p)
{
	static const char *names[] = { "Pending", "Running", "Succeeded", "Failed" };
	return names[p];
}

bool phase_terminal(const char *state)
{
	return state && (!strcmp(state, "Succeeded") || !strcmp(state, "Failed"));
}

const char *exit_reason(int code)
{
	switch (code) {
	case 0: return "Completed";
	case 1: return "ReplicationFailed";
	case 2: return "ConfigError";
	case 3: return "Timeout";
	case 126: return "EntrypointNotExecutable";
	case 127: return "EntrypointNotFound";
	case 137: return "Killed";
	case 143: return "Terminated";
	default: return code > 128 ? "Signaled" : "Error";
	}
}

static const json_t *container_status(const json_t *pod, const char *list, const char *name)
{
	size_t i;
	json_t *cs;
	json_array_foreach(json_object_get(json_object_get(pod, "status"), list), i, cs) {
		const char *n = json_string_value(json_object_get(cs, "name"));
		if (n && !strcmp(n, name))
			return cs;
	}
	return NULL;
}

/* The terminated state of a container, or NULL while it has not ended. */
static const json_t *terminated(const json_t *pod, const char *name)
{
	const json_t *cs = container_status(pod, "containerStatuses", name);
	return json_object_get(json_object_get(cs, "state"), "terminated");
}

static int exit_code(const json_t *term)
{
	return (int)json_integer_value(json_object_get(term, "exitCode"));
}

/* A failed init container, or a container that cannot start (bad image). */
static bool stuck_container(const json_t *pod, struct outcome *out)
{
	static const char *lists[] = { "initContainerStatuses", "containerStatuses" };
	for (int l = 0; l < 2; l++) {
		size_t i;
		json_t *cs;
		json_array_foreach(json_object_get(json_object_get(pod, "status"), lists[l]), i, cs) {
			const char *name = json_string_value(json_object_get(cs, "name"));
			json_t *st = json_object_get(cs, "state");
			const json_t *w = json_object_get(st, "waiting");
			const char *why = json_string_value(json_object_get(w, "reason"));
			if (why && (!strcmp(why, "ErrImagePull") || !strcmp(why, "ImagePullBackOff") ||
				    !strcmp(why, "InvalidImageName") || !strcmp(why, "ErrImageNeverPull") ||
				    !strcmp(why, "CreateContainerConfigError") ||
				    !strcmp(why, "CreateContainerError"))) {
				out->phase = PHASE_FAILED;
				snprintf(out->reason, sizeof(out->reason), "%s", why);
				snprintf(out->message, sizeof(out->message), "container '%s': %s", name,
					 json_string_value(json_object_get(w, "message")) ?
						 json_string_value(json_object_get(w, "message")) : why);
				return true;
			}
			const json_t *t = json_object_get(st, "terminated");
			if (l == 0 && t && exit_code(t) != 0) {
				out->phase = PHASE_FAILED;
				snprintf(out->reason, sizeof(out->reason), "InitFailed");
				snprintf(out->message, sizeof(out->message),
					 "init container '%s' exited with %d", name, exit_code(t));
				return true;
			}
		}
	}
	return false;
}

void decide_pod_outcome(const json_t *pod, struct outcome *out)
{
	memset(out, 0, sizeof(*out));
	const char *phase = json_string_value(json_object_get(json_object_get(pod, "status"), "phase"));
	const json_t *src = terminated(pod, "source"), *dst = terminated(pod, "destination");
	out->connectors_done = src && dst;

	/* the destination decides: it knows what was committed; a success also
	 * needs the last state in Kubernetes, which state-sync says by ending */
	if (dst && exit_code(dst) == 0) {
		const json_t *sync = container_status(pod, "containerStatuses", "state-sync");
		const json_t *sync_end = terminated(pod, "state-sync");
		if (sync && !sync_end) {
			out->phase = PHASE_RUNNING;
			snprintf(out->reason, sizeof(out->reason), "SyncingState");
		} else if (sync_end && exit_code(sync_end) != 0) {
			out->phase = PHASE_FAILED;
			snprintf(out->reason, sizeof(out->reason), "StateSyncFailed");
			snprintf(out->message, sizeof(out->message),
				 "state-sync exited with %d: the last committed states may not be in Kubernetes",
				 exit_code(sync_end));
		} else {
			out->phase = PHASE_SUCCEEDED;
			snprintf(out->reason, sizeof(out->reason), "Completed");
		}
		return;
	}
	if (dst && exit_code(dst) != 0) {
		int c = exit_code(dst);
		const char *r = json_string_value(json_object_get(dst, "reason"));
		const char *m = json_string_value(json_object_get(dst, "message"));
		out->phase = PHASE_FAILED;
		snprintf(out->reason, sizeof(out->reason), "%s",
			 r && !strcmp(r, "OOMKilled") ? r : exit_reason(c));
		snprintf(out->message, sizeof(out->message), "destination exited with %d%s%s", c,
			 m ? ": " : "", m ? m : "");
		return;
	}
	if (src && exit_code(src) != 0 && dst) {
		out->phase = PHASE_FAILED;
		snprintf(out->reason, sizeof(out->reason), "%s", exit_reason(exit_code(src)));
		snprintf(out->message, sizeof(out->message), "source exited with %d", exit_code(src));
		return;
	}
	if (stuck_container(pod, out))
		return;
	if (phase && !strcmp(phase, "Failed")) {
		const char *r = json_string_value(json_object_get(json_object_get(pod, "status"), "reason"));
		const char *m = json_string_value(json_object_get(json_object_get(pod, "status"), "message"));
		out->phase = PHASE_FAILED;
		snprintf(out->reason, sizeof(out->reason), "%s", r ? r : "PodFailed");
		snprintf(out->message, sizeof(out->message), "%s", m ? m : "the pod failed");
		return;
	}
	if (phase && !strcmp(phase, "Succeeded")) {
		/* every container ended with 0 but no status for ours: trust the phase */
		out->phase = PHASE_SUCCEEDED;
		snprintf(out->reason, sizeof(out->reason), "Completed");
		return;
	}
	if (phase && !strcmp(phase, "Running")) {
		out->phase = PHASE_RUNNING;
		snprintf(out->reason, sizeof(out->reason), "Running");
		return;
	}
	out->phase = PHASE_PENDING;
	snprintf(out->reason, sizeof(out->reason), "PodPending");
}

/* t plus n calendar months (UTC), day clamped like the API's "1 month later" */
static long long add_months(long long t, long long n)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	long long months = tm.tm_mon + n;
	tm.tm_year += (int)(months / 12);
	tm.tm_mon = (int)(months % 12);
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y = tm.tm_year + 1900;
	int max = days[tm.tm_mon] + (tm.tm_mon == 1 && ((y % 4 == 0 && y % 100) || y % 400 == 0));
	if (tm.tm_mday > max)
		tm.tm_mday = max;
	return (long long)timegm(&tm);
}

long long decide_next_run(const json_t *connection, long long last, const char **why)
{
	const json_t *spec = json_object_get(connection, "spec");
	const char *type = json_string_value(json_object_get(spec, "scheduleType"));
	const json_t *sch = json_object_get(spec, "schedule");
	*why = NULL;
	if (!type || strcmp(type, "cron"))
		return -1;
	json_int_t units = json_integer_value(json_object_get(sch, "units"));
	const char *unit = json_string_value(json_object_get(sch, "timeUnit"));
	if (units <= 0 || units > 100000 || !unit) {
		*why = "spec.schedule.units must be a positive number with a timeUnit";
		return -1;
	}
	if (!strcmp(unit, "months"))
		return add_months(last, units);
	long long sec = !strcmp(unit, "minutes") ? 60 : !strcmp(unit, "hours") ? 3600 :
			!strcmp(unit, "days") ? 86400 : !strcmp(unit, "weeks") ? 604800 : 0;
	if (!sec) {
		*why = "spec.schedule.timeUnit must be minutes, hours, days, weeks or months";
		return -1;
	}
	return last + units * sec;
}
