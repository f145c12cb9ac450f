/* Batch plans: the CSV reader (quotes, CRLF, errors naming the line), JSON
 * and CSV plans read into the same entries, the checks (every problem
 * listed), and plan.json round trips. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "batch/batch.h"
#include "batch/csv.h"
#include "migrate/migrate.h"
#include "scratch.h"

TestSuite(batch_plan, .init = scratch_setup, .fini = scratch_teardown);

static char *write_file(const char *name, const char *text)
{
	char *path;
	FILE *f;

	cr_assert(asprintf(&path, "%s/%s", scratch_dir, name) > 0);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

Test(batch_plan, csv_quotes_and_crlf)
{
	const char *t = "a, \"b,c\" ,\"say \"\"hi\"\"\"\r\n\"multi\nline\",x\r\n";
	struct vmc_csv c = { t, strlen(t), 0, 1 };
	struct vmc_error err;
	char *f[8];
	size_t n;

	cr_assert_eq(vmc_csv_row(&c, f, 8, &n, "t.csv", &err), 1);
	cr_assert_eq(n, 3);
	cr_assert_str_eq(f[0], "a");
	cr_assert_str_eq(f[1], "b,c");
	cr_assert_str_eq(f[2], "say \"hi\"");
	vmc_csv_free(f, n);
	cr_assert_eq(vmc_csv_row(&c, f, 8, &n, "t.csv", &err), 1);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(f[0], "multi\nline");
	vmc_csv_free(f, n);
	cr_assert_eq(vmc_csv_row(&c, f, 8, &n, "t.csv", &err), 0);
}

Test(batch_plan, csv_unclosed_quote)
{
	const char *t = "a,b\nc,\"never closed\n";
	struct vmc_csv c = { t, strlen(t), 0, 1 };
	struct vmc_error err;
	char *f[8];
	size_t n;

	cr_assert_eq(vmc_csv_row(&c, f, 8, &n, "t.csv", &err), 1);
	vmc_csv_free(f, n);
	cr_assert_eq(vmc_csv_row(&c, f, 8, &n, "t.csv", &err), -1);
	cr_assert(strstr(err.msg, "t.csv: line 2: a quoted field"), "%s",
		  err.msg);
}

Test(batch_plan, json_and_csv_agree)
{
	char *j = write_file("p.json", "{\"dest\": \"out\", \"vms\": [{\"name\":"
			     " \"web\", \"source\": \"web.vmdk\", \"to\": "
			     "\"qcow2\", \"validate\": true, \"timeout\": 60}]}");
	char *c = write_file("p.csv", "name,to,source,validate,timeout,dest\n"
			     "web,qcow2,web.vmdk,yes,60,out\n\n");
	struct vmc_error err;
	struct vmc_batch_plan *a = vmc_batch_plan_read(j, NULL, &err);
	struct vmc_batch_plan *b = vmc_batch_plan_read(c, NULL, &err);
	json_t *ja, *jb;

	cr_assert_not_null(a, "%s", err.msg);
	cr_assert_not_null(b, "%s", err.msg);
	cr_assert_eq(a->n, 1);
	cr_assert_eq(b->n, 1);
	ja = vmc_batch_plan_json(a);
	jb = vmc_batch_plan_json(b);
	cr_assert(json_equal(ja, jb));
	cr_assert_eq(a->vms[0].timeout_s, 60);
	cr_assert(a->vms[0].validate);
	cr_assert_eq(a->vms[0].source[0], '/');
	cr_assert(strstr(a->vms[0].dest, "/out"));
	json_decref(ja);
	json_decref(jb);
	vmc_batch_plan_free(a);
	vmc_batch_plan_free(b);
}

Test(batch_plan, bad_plans_name_the_place)
{
	static const struct { const char *text, *want; } cases[] = {
		{ "name,source\nx,y\n", "line 2: name, source and to" },
		{ "name,source,to,colour\nx,y,raw,red\n", "unknown column" },
		{ "name,source,to\nx,y,raw,extra\n", "4 fields, the header" },
		{ "name,source,to,validate\nx,y,raw,perhaps\n", "validate" },
		{ "[{\"name\": \"x\"", "JSON error at line 1" },
		{ "{\"vms\": [{\"name\": [1], \"source\": \"s\", \"to\": \"raw\"}]}",
		  "vms[0]: \"name\" must be a string" },
		{ "{\"vms\": []}", "the plan has no VMs" },
		{ "name,source,to\n", "the plan has no VMs" },
	};
	struct vmc_error err;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *p = write_file("bad", cases[i].text);

		cr_assert_null(vmc_batch_plan_read(p, NULL, &err), "%zu", i);
		cr_assert(strstr(err.msg, cases[i].want), "%zu: %s", i,
			  err.msg);
		cr_assert(strstr(err.msg, p), "%zu: %s", i, err.msg);
		free(p);
	}
}

Test(batch_plan, every_problem_listed)
{
	char *p = write_file("p.csv", "name,source,to,bus,expect,engine\n"
			     "-bad,none.img,nosuch,scsi,(,warp\n");
	struct vmc_error err;
	struct vmc_batch_plan *pl = vmc_batch_plan_read(p, NULL, &err);
	char *space = NULL;

	cr_assert_not_null(pl, "%s", err.msg);
	cr_assert_eq(vmc_batch_plan_check(pl, NULL, &space), 1);
	for (const char *w = "name '-bad'\0source: \0bus must be\0"
	     "expect: \0engine must be\0"; *w; w += strlen(w) + 1)
		cr_assert(strstr(pl->vms[0].problem, w), "%s: %s", w,
			  pl->vms[0].problem);
	vmc_batch_plan_free(pl);
}

/* inject: yes, no, or left to the one-command form's default; kept
 * through plan.json; anything else is an error naming the line. */
Test(batch_plan, inject_column)
{
	char *c = write_file("i.csv", "name,source,to,inject\n"
			     "a,a.img,qcow2,yes\nb,b.img,qcow2,no\n"
			     "c,c.img,qcow2,\n");
	char *bad = write_file("bad.csv", "name,source,to,inject\n"
			       "a,a.img,qcow2,maybe\n");
	struct vmc_error err;
	struct vmc_batch_plan *p = vmc_batch_plan_read(c, NULL, &err), *q;
	json_t *j;

	cr_assert_not_null(p, "%s", err.msg);
	cr_assert(p->vms[0].inject && p->vms[0].inject_set);
	cr_assert(!p->vms[1].inject && p->vms[1].inject_set);
	cr_assert(!p->vms[2].inject_set);
	cr_assert_eq(p->vms[2].inject, VMC_MIGRATE_INJECT_DEFAULT);
	j = vmc_batch_plan_json(p);
	q = vmc_batch_plan_from_json(j, &err);
	cr_assert_not_null(q, "%s", err.msg);
	for (size_t i = 0; i < 3; i++)
		cr_assert_eq(q->vms[i].inject, p->vms[i].inject);
	cr_assert_null(vmc_batch_plan_read(bad, NULL, &err));
	cr_assert(strstr(err.msg, "inject must be yes or no, not 'maybe'"),
		  "%s", err.msg);
	json_decref(j);
	vmc_batch_plan_free(p);
	vmc_batch_plan_free(q);
	free(c);
	free(bad);
}
