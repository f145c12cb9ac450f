/* The merged pre-cutover report: the journals of a state folder, whoever
 * ran them, as one JSON document (a summary and one object per VM with
 * the validator's report as the one-command form gives it), which the
 * HTML report (report-html.c) is drawn from. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "batch/batch.h"

#define EXCERPT_BYTES 8192
#define EXCERPT_LINES 20

/* The last lines of the console log, control characters dropped: where a
 * boot stops is where its console ends. */
static json_t *console_excerpt(const char *path)
{
	FILE *f = path ? fopen(path, "rb") : NULL;
	char buf[EXCERPT_BYTES + 1], *s, *line;
	json_t *lines = json_array();
	size_t n = 0, o = 0, start;
	long sz;

	if (!f)
		return lines;
	if (fseek(f, 0, SEEK_END) == 0 && (sz = ftell(f)) > EXCERPT_BYTES)
		fseek(f, sz - EXCERPT_BYTES, SEEK_SET);
	else
		fseek(f, 0, SEEK_SET);
	n = fread(buf, 1, EXCERPT_BYTES, f);
	fclose(f);
	for (size_t i = 0; i < n; i++)
		if (buf[i] == '\n' || buf[i] == '\t' ||
		    ((unsigned char)buf[i] >= 0x20 && buf[i] != 0x7f))
			buf[o++] = buf[i];
	buf[o] = 0;
	json_t *all = json_array();
	for (s = buf; (line = strsep(&s, "\n"));)
		json_array_append_new(all, json_string_nocheck(line));
	while (json_array_size(all) && !json_string_length(
		       json_array_get(all, json_array_size(all) - 1)))
		json_array_remove(all, json_array_size(all) - 1);
	start = json_array_size(all) > EXCERPT_LINES ?
		json_array_size(all) - EXCERPT_LINES : 0;
	for (size_t i = start; i < json_array_size(all); i++)
		json_array_append(lines, json_array_get(all, i));
	json_decref(all);
	return lines;
}

static void copy(json_t *to, json_t *from, const char *const *keys)
{
	for (; *keys; keys++) {
		json_t *v = json_object_get(from, *keys);

		if (v)
			json_object_set(to, *keys, v);
	}
}

static json_t *vm_entry(const char *state, const struct vmc_batch_vm *vm,
			size_t id)
{
	static const char *const jkeys[] = { "phase", "reason", "started",
		"finished", "host", "validation", NULL };
	static const char *const mkeys[] = { "source-format", "virtual-size",
		"data-bytes", "zero-bytes", "hole-bytes", "written-bytes",
		"sha256", "injection", NULL };
	json_t *jn = vmc_batch_journal_read(state, id), *e;
	json_t *mig = json_object_get(jn, "migration");
	json_t *ts = json_object_get(jn, "target-stat");
	json_t *val = json_object_get(jn, "validation");
	char *log = vmc_batch_path(state, "logs", id, ".log");

	e = json_pack("{s:I,s:s,s:s,s:s,s:s?,s:s,s:b}", "id", (json_int_t)id,
		      "name", vm->name, "source", vm->source, "to", vm->to,
		      "target", vm->target, "outcome",
		      vmc_batch_outcome_name(vmc_batch_outcome_of(jn)),
		      "validate", vm->validate);
	if (!jn && vm->problem)
		json_object_set_new(e, "reason", json_string(vm->problem));
	copy(e, jn, jkeys);
	copy(e, mig, mkeys);
	if (ts)
		json_object_set(e, "target-size", json_object_get(ts, "size"));
	if (json_is_real(json_object_get(jn, "finished")))
		json_object_set_new(e, "seconds", json_real(
			json_real_value(json_object_get(jn, "finished")) -
			json_real_value(json_object_get(jn, "started"))));
	json_object_set_new(e, "log", json_string(log));
	if (json_is_object(val))
		json_object_set_new(e, "console-excerpt", console_excerpt(
			json_string_value(json_object_get(val,
							  "console_log"))));
	free(log);
	json_decref(jn);
	return e;
}

static json_t *summary(json_t *vms)
{
	static const char *const outs[] = { "ready", "converted", "not-ready",
		"failed", "unfinished" };
	json_t *s = json_object(), *e;
	json_int_t counts[5] = { 0 }, bytes = 0;
	double t0 = 0, t1 = 0;
	size_t i;

	json_array_foreach(vms, i, e) {
		const char *o = json_string_value(json_object_get(e,
								  "outcome"));
		double a = json_real_value(json_object_get(e, "started"));
		double b = json_real_value(json_object_get(e, "finished"));

		for (int k = 0; k < 5; k++)
			counts[k] += !strcmp(o, outs[k]);
		bytes += json_integer_value(json_object_get(e,
							    "written-bytes"));
		if (a > 0 && (t0 == 0 || a < t0))
			t0 = a;
		if (b > t1)
			t1 = b;
	}
	json_object_set_new(s, "vms", json_integer((json_int_t)
						   json_array_size(vms)));
	for (int k = 0; k < 5; k++)
		json_object_set_new(s, outs[k], json_integer(counts[k]));
	json_object_set_new(s, "bytes-moved", json_integer(bytes));
	json_object_set_new(s, "seconds", json_real(t1 > t0 ? t1 - t0 : 0));
	return s;
}

json_t *vmc_batch_report(const char *state, struct vmc_error *err)
{
	struct vmc_batch_plan *p = vmc_batch_state_plan(state, err);
	char *rp = realpath(state, NULL), when[64];
	time_t now = time(NULL);
	struct tm tm;
	json_t *rep = NULL, *vms;

	if (!p || !rp)
		goto out;
	vms = json_array();
	for (size_t i = 0; i < p->n; i++)
		json_array_append_new(vms, vm_entry(rp, &p->vms[i], i));
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	rep = json_pack("{s:s,s:s,s:o,s:o}", "state", rp, "generated", when,
			"summary", summary(vms), "vms", vms);
out:
	if (p && !rp)
		vmc_error_errno(err, errno, "%s", state);
	free(rp);
	vmc_batch_plan_free(p);
	return rep;
}
