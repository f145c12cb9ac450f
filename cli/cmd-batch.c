/* vmconv batch plan|run|run-one|status|report|emit: batch migrations
 * (batch/batch.h).  Exit codes: plan 1 when any entry has a problem; run
 * 1 when any VM of the plan is not ready or failed (in this run or an
 * earlier one); run-one 0 ready or converted, 1 not ready or failed, 2
 * when it could not run; status and report 0 whenever they can read the
 * state. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/batch.h"
#include "cli/cli.h"

static const char usage[] =
"usage: vmconv batch plan [--dest DIR] [--state DIR] [--output=json] PLAN\n"
"       vmconv batch run [-j N] [--state DIR] [--dest DIR] [--retry-failed]"
" PLAN\n"
"       vmconv batch run-one --state DIR --id N [--retry-failed]\n"
"       vmconv batch status --state DIR [--output=json]\n"
"       vmconv batch report --state DIR [--html FILE] [--json FILE]\n"
"       vmconv batch emit --engine=parallel|slurm|k8s [--state DIR] [-j N]\n"
"                         [--dest DIR] [--image IMG] [--claim NAME]"
" [-o FILE] PLAN\n"
"\n"
"PLAN is JSON ({\"dest\": DIR, \"vms\": [{\"name\":..., \"source\":...,\n"
"\"to\":...}, ...]}) or CSV with a header row (name,source,to,bus,validate,\n"
"expect,dest; also engine,timeout).  Each VM is migrated to DEST/NAME.EXT;\n"
"journals, logs and locks live in the state folder (PLAN's name with\n"
".state, beside it, unless --state says).  `man vmconv` has the details.\n";

struct bopts {
	const char *state, *dest, *engine, *image, *claim, *html, *json_out;
	const char *out;
	unsigned jobs;
	long id;
	bool json, retry;
	char *state_buf, *state_abs;
};

static int parse(int argc, char **argv, struct bopts *b)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "state", required_argument, NULL, 'S' },
		{ "dest", required_argument, NULL, 'D' },
		{ "engine", required_argument, NULL, 'E' },
		{ "image", required_argument, NULL, 'I' },
		{ "claim", required_argument, NULL, 'C' },
		{ "html", required_argument, NULL, 'H' },
		{ "json", required_argument, NULL, 'J' },
		{ "id", required_argument, NULL, 'i' },
		{ "output", required_argument, NULL, 'O' },
		{ "retry-failed", no_argument, NULL, 'R' },
		{ "jobs", required_argument, NULL, 'j' },
		{ 0 }
	};
	int opt;
	char *end;
	unsigned long n;

	b->id = -1;
	while ((opt = getopt_long(argc, argv, "hj:o:", lo, NULL)) != -1) {
		switch (opt) {
		case 'h': return vmc_cli_usage(usage, true);
		case 'S': b->state = optarg; break;
		case 'D': b->dest = optarg; break;
		case 'E': b->engine = optarg; break;
		case 'I': b->image = optarg; break;
		case 'C': b->claim = optarg; break;
		case 'H': b->html = optarg; break;
		case 'J': b->json_out = optarg; break;
		case 'o': b->out = optarg; break;
		case 'R': b->retry = true; break;
		case 'O':
			if (vmc_cli_output_format(optarg, &b->json) < 0)
				return 1;
			break;
		case 'i': case 'j':
			n = strtoul(optarg, &end, 10);
			if (!*optarg || *end || n > (opt == 'j' ? 1024 : 1000000)
			    || (opt == 'j' && !n)) {
				vmc_cli_errorf("--%s: not a valid number: '%s'",
					       opt == 'j' ? "jobs" : "id",
					       optarg);
				return 1;
			}
			if (opt == 'j')
				b->jobs = (unsigned)n;
			else
				b->id = (long)n;
			break;
		default: return vmc_cli_usage(usage, false);
		}
	}
	return -1;
}

/* The state folder: --state, or PLAN's name with .state beside it. */
static const char *state_of(struct bopts *b, const char *plan)
{
	const char *dot = strrchr(plan, '.'), *slash = strrchr(plan, '/');
	size_t stem = dot && (!slash || dot > slash + 1) ?
		(size_t)(dot - plan) : strlen(plan);

	if (b->state)
		return b->state;
	if (asprintf(&b->state_buf, "%.*s.state", (int)stem, plan) < 0)
		return NULL;
	return b->state = b->state_buf;
}

static void print_plan(const struct vmc_batch_plan *p, FILE *f)
{
	uint64_t total = 0;
	char sz[32];

	for (size_t i = 0; i < p->n; i++) {
		const struct vmc_batch_vm *v = &p->vms[i];

		total += v->estimate;
		vmc_cli_human_size(v->estimate, sz, sizeof(sz));
		if (v->problem)
			fprintf(f, "%zu %s: PROBLEM: %s\n", i, v->name,
				v->problem);
		else
			fprintf(f, "%zu %s: %s -> %s (%s%s%s), up to %s\n", i,
				v->name, v->source, v->target, v->to,
				v->inject ? ", inject" : "",
				v->validate ? ", validate" : "", sz);
	}
	vmc_cli_human_size(total, sz, sizeof(sz));
	fprintf(f, "%zu VMs, estimated output up to %s\n", p->n, sz);
}

/* Read and check PLAN (against the state folder when it exists). */
static struct vmc_batch_plan *load(struct bopts *b, const char *path,
				   size_t *bad, char **space)
{
	struct vmc_error err = { 0 };
	struct vmc_batch_plan *p = vmc_batch_plan_read(path, b->dest, &err);

	if (!p) {
		vmc_cli_error(&err);
		return NULL;
	}
	*bad = vmc_batch_plan_check(p, access(b->state, F_OK) == 0 ?
				    b->state : NULL, space);
	return p;
}

static int cmd_plan(struct bopts *b, const char *path)
{
	size_t bad;
	char *space = NULL;
	struct vmc_batch_plan *p;

	state_of(b, path);
	p = load(b, path, &bad, &space);
	if (!p)
		return 1;
	if (b->json) {
		json_t *j = json_pack("{s:o,s:I,s:s?}", "vms",
				      vmc_batch_plan_json(p), "problems",
				      (json_int_t)bad, "space", space);

		vmc_cli_print_json(j);
		json_decref(j);
	} else {
		print_plan(p, stdout);
		if (space)
			printf("PROBLEM: %s\n", space);
	}
	if (bad || space)
		vmc_cli_errorf("%s: %zu of %zu VMs have a problem%s", path, bad,
			       p->n, space ? ", and not enough free space" :
			       "");
	vmc_batch_plan_free(p);
	free(space);
	return bad || space ? 1 : 0;
}

/* Check PLAN and write it into the state folder; 0 or the exit code. */
static int prepare(struct bopts *b, const char *path, size_t *n)
{
	struct vmc_error err = { 0 };
	size_t bad;
	char *space = NULL;
	struct vmc_batch_plan *p;
	int ret = 1;

	if (!state_of(b, path))
		return 1;
	p = load(b, path, &bad, &space);
	if (!p)
		return 1;
	for (size_t i = 0; i < p->n; i++)
		if (p->vms[i].problem)
			fprintf(stderr, "vmconv: %s: VM %zu (%s) will fail: %s\n",
				path, i, p->vms[i].name, p->vms[i].problem);
	if (space)
		vmc_cli_errorf("%s", space);
	else if (vmc_batch_state_prepare(b->state, p, &err) < 0)
		vmc_cli_error(&err);
	else if (!(b->state_abs = realpath(b->state, NULL)))
		vmc_cli_errorf("%s: %s", b->state, strerror(errno));
	else
		ret = 0;
	b->state = b->state_abs;
	*n = p->n;
	vmc_batch_plan_free(p);
	free(space);
	return ret;
}

/* Each VM without a good outcome, with its reason; their number. */
static size_t print_failures(const char *state, FILE *f)
{
	struct vmc_error err = { 0 };
	json_t *rep = vmc_batch_report(state, &err), *vm;
	size_t i, bad = 0;

	if (!rep) {
		vmc_cli_error(&err);
		return 1;
	}
	json_array_foreach(json_object_get(rep, "vms"), i, vm) {
		const char *o = json_string_value(json_object_get(vm,
								  "outcome"));
		const char *why = json_string_value(json_object_get(vm,
								    "reason"));

		if (!strcmp(o, "ready") || !strcmp(o, "converted"))
			continue;
		fprintf(f, "FAILED %s (%s): %s\n", json_string_value(
				json_object_get(vm, "name")), o,
			why ? why : "did not finish");
		bad++;
	}
	json_decref(rep);
	return bad;
}

static int cmd_run(struct bopts *b, const char *path)
{
	struct vmc_error err = { 0 };
	char self[PATH_MAX];
	struct vmc_batch_plan *p = NULL;
	struct vmc_batch_view *v = NULL;
	size_t n, bad;
	ssize_t sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	int ret = prepare(b, path, &n);

	if (ret)
		return ret;
	if (sl <= 0) {
		vmc_cli_errorf("cannot find the vmconv binary: %s",
			       strerror(errno));
		return 1;
	}
	self[sl] = 0;
	p = vmc_batch_state_plan(b->state, &err);
	if (p)
		v = vmc_cli_batch_view_new(b->state, p, isatty(1), stdout);
	struct vmc_batch_run_opts o = {
		.state = b->state, .self = self, .jobs = b->jobs,
		.retry_failed = b->retry,
		.ev = { v, vmc_cli_batch_view_started,
			vmc_cli_batch_view_ended, vmc_cli_batch_view_tick },
	};
	if (!v || vmc_batch_run(&o, &err) < 0) {
		vmc_cli_error(&err);
		ret = 1;
		goto out;
	}
	vmc_cli_batch_view_done(v);
	bad = print_failures(b->state, stdout);
	printf("%zu of %zu VMs done and good; state in %s\n", n - bad, n,
	       b->state);
	ret = bad ? 1 : 0;
out:
	vmc_cli_batch_view_free(v);
	vmc_batch_plan_free(p);
	return ret;
}

/* Whatever engine started it, run-one's messages also go to the VM's log
 * in the state folder (the report links it). */
static void log_to_state(const char *state, size_t id)
{
	char *path = vmc_batch_path(state, "logs", id, ".log");
	int fd = path ? open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
			     0644) : -1;

	if (fd >= 0 && !isatty(2)) {
		dup2(fd, 2);
		fprintf(stderr, "vmconv batch run-one: VM %zu, pid %d\n", id,
			(int)getpid());
	}
	if (fd >= 0)
		close(fd);
	free(path);
}

static int cmd_run_one(struct bopts *b)
{
	struct vmc_error err = { 0 };
	enum vmc_batch_outcome o = VMC_BATCH_UNFINISHED;

	if (!b->state || b->id < 0) {
		vmc_cli_errorf("batch run-one needs --state DIR and --id N");
		return 2;
	}
	log_to_state(b->state, (size_t)b->id);
	if (vmc_batch_run_one(b->state, (size_t)b->id, b->retry, &o,
			      &err) < 0) {
		if (err.code == EWOULDBLOCK)
			vmc_cli_errorf("%s: VM %ld is being run by another"
				       " process", b->state, b->id);
		else
			vmc_cli_error(&err);
		return 2;
	}
	printf("VM %ld: %s\n", b->id, vmc_batch_outcome_name(o));
	return o == VMC_BATCH_READY || o == VMC_BATCH_CONVERTED ? 0 : 1;
}

static void status_line(const char *state, json_t *vm)
{
	const char *o = json_string_value(json_object_get(vm, "outcome"));
	const char *ph = json_string_value(json_object_get(vm, "phase"));
	const char *why = json_string_value(json_object_get(vm, "reason"));
	json_int_t id = json_integer_value(json_object_get(vm, "id"));
	char phase[32];
	uint64_t done, total;

	printf("%3lld %-24s %-10s", (long long)id, json_string_value(
		       json_object_get(vm, "name")), o);
	if (!strcmp(o, "unfinished")) {
		bool idle = vmc_batch_vm_idle(state, (size_t)id);

		printf(" %s", !ph ? "pending" : idle ? "interrupted" : ph);
		if (!idle && vmc_batch_progress_read(state, (size_t)id, phase,
						     sizeof(phase), &done,
						     &total) == 0 && total)
			printf(" %.1f%%", 100.0 * (double)done / (double)total);
	} else if (why && strcmp(o, "ready")) {
		printf(" %s", why);
	}
	putchar('\n');
}

static int cmd_status(struct bopts *b)
{
	struct vmc_error err = { 0 };
	json_t *rep, *vm, *s;
	size_t i;

	if (!b->state)
		return vmc_cli_usage(usage, false);
	rep = vmc_batch_report(b->state, &err);
	if (!rep) {
		vmc_cli_error(&err);
		return 1;
	}
	if (b->json) {
		vmc_cli_print_json(rep);
		json_decref(rep);
		return 0;
	}
	json_array_foreach(json_object_get(rep, "vms"), i, vm)
		status_line(b->state, vm);
	s = json_object_get(rep, "summary");
	printf("%lld VMs: %lld ready, %lld converted, %lld not ready, %lld"
	       " failed, %lld unfinished\n",
	       (long long)json_integer_value(json_object_get(s, "vms")),
	       (long long)json_integer_value(json_object_get(s, "ready")),
	       (long long)json_integer_value(json_object_get(s, "converted")),
	       (long long)json_integer_value(json_object_get(s, "not-ready")),
	       (long long)json_integer_value(json_object_get(s, "failed")),
	       (long long)json_integer_value(json_object_get(s,
							     "unfinished")));
	json_decref(rep);
	return 0;
}

static int cmd_report(struct bopts *b)
{
	struct vmc_error err = { 0 };
	json_t *rep;
	char *s;
	int ret = 1;

	if (!b->state || (!b->html && !b->json_out)) {
		vmc_cli_errorf("batch report needs --state DIR and --html FILE"
			       " or --json FILE (or both)");
		return 1;
	}
	rep = vmc_batch_report(b->state, &err);
	if (!rep)
		goto fail;
	if (b->html && vmc_batch_report_html(rep, b->html, &err) < 0)
		goto fail;
	if (b->json_out) {
		s = json_dumps(rep, JSON_INDENT(2) | JSON_SORT_KEYS);
		if (!s || vmc_batch_write_file(b->json_out, s, strlen(s),
					       &err) < 0) {
			free(s);
			goto fail;
		}
		free(s);
	}
	ret = 0;
	goto out;
fail:
	vmc_cli_error(&err);
out:
	json_decref(rep);
	return ret;
}

static int cmd_emit(struct bopts *b, const char *path)
{
	struct vmc_error err = { 0 };
	char self[PATH_MAX];
	const char *state;
	ssize_t sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	size_t n = 0;
	FILE *f = stdout;
	int ret;

	if (!b->engine)
		return vmc_cli_usage(usage, false);
	if ((ret = prepare(b, path, &n)))
		return ret;
	self[sl > 0 ? sl : 0] = 0;
	state = b->state;
	struct vmc_batch_emit_opts o = {
		.engine = b->engine, .state = state, .self = self, .n = n,
		.jobs = b->jobs, .image = b->image ? b->image : "vmconv",
		.claim = b->claim ? b->claim : "vmconv-batch",
	};
	if (b->out && !(f = fopen(b->out, "w"))) {
		vmc_cli_errorf("%s: %s", b->out, strerror(errno));
		return 1;
	}
	ret = vmc_batch_emit(&o, f, &err) < 0 ? 1 : 0;
	if (ret)
		vmc_cli_error(&err);
	if (f != stdout && fclose(f) != 0 && !ret) {
		vmc_cli_errorf("%s: %s", b->out, strerror(errno));
		ret = 1;
	}
	return ret;
}

int vmc_cmd_batch(int argc, char **argv)
{
	struct bopts b = { 0 };
	const char *sub = argc > 1 ? argv[1] : NULL;
	bool needs_plan;
	int ret;

	if (!sub || sub[0] == '-')
		return vmc_cli_usage(usage, sub && (!strcmp(sub, "--help") ||
						    !strcmp(sub, "-h")));
	ret = parse(argc - 1, argv + 1, &b);
	if (ret >= 0)
		goto out;
	needs_plan = !strcmp(sub, "plan") || !strcmp(sub, "run") ||
		     !strcmp(sub, "emit");
	if (argc - 1 - optind != (needs_plan ? 1 : 0)) {
		ret = vmc_cli_usage(usage, false);
		goto out;
	}
	if (!strcmp(sub, "plan"))
		ret = cmd_plan(&b, argv[1 + optind]);
	else if (!strcmp(sub, "run"))
		ret = cmd_run(&b, argv[1 + optind]);
	else if (!strcmp(sub, "emit"))
		ret = cmd_emit(&b, argv[1 + optind]);
	else if (!strcmp(sub, "run-one"))
		ret = cmd_run_one(&b);
	else if (!strcmp(sub, "status"))
		ret = cmd_status(&b);
	else if (!strcmp(sub, "report"))
		ret = cmd_report(&b);
	else {
		vmc_cli_errorf("batch: unknown subcommand '%s' (plan, run,"
			       " run-one, status, report, emit)", sub);
		ret = 1;
	}
out:
	free(b.state_buf);
	free(b.state_abs);
	return ret;
}
