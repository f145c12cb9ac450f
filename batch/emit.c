/* Batches on engines that already run commands across machines: a GNU
 * parallel job list, a Slurm job-array script, a Kubernetes Indexed Job.
 * Each runs one `vmconv batch run-one --state DIR --id N` per VM; the
 * state folder (prepared by the caller) carries everything else. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "batch/batch.h"

/* A word quoted for sh. */
static void shq(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s; s++)
		if (*s == '\'')
			fputs("'\\''", f);
		else
			fputc(*s, f);
	fputc('\'', f);
}

static void parallel(const struct vmc_batch_emit_opts *o, FILE *f)
{
	for (size_t i = 0; i < o->n; i++) {
		shq(f, o->self);
		fputs(" batch run-one --state ", f);
		shq(f, o->state);
		fprintf(f, " --id %zu\n", i);
	}
}

static void slurm(const struct vmc_batch_emit_opts *o, FILE *f)
{
	fprintf(f, "#!/bin/sh\n"
		"# vmconv batch: one array task per VM (sbatch THIS_FILE).\n"
		"#SBATCH --job-name=vmconv-batch\n"
		"#SBATCH --array=0-%zu", o->n - 1);
	if (o->jobs)
		fprintf(f, "%%%u", o->jobs);
	fputs("\n#SBATCH --cpus-per-task=1\n#SBATCH --mem=1G\n"
	      "#SBATCH --output=", f);
	fprintf(f, "%s/logs/slurm-%%a.log\nexec ", o->state);
	shq(f, o->self);
	fputs(" batch run-one --state ", f);
	shq(f, o->state);
	fputs(" --id \"$SLURM_ARRAY_TASK_ID\"\n", f);
}

/* JSON strings are valid YAML scalars: quote every path that way. */
static void yq(FILE *f, const char *s)
{
	json_t *j = json_string(s);
	char *d = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;

	fputs(d ? d : "\"\"", f);
	free(d);
	json_decref(j);
}

static void k8s(const struct vmc_batch_emit_opts *o, FILE *f)
{
	fprintf(f, "# vmconv batch: an Indexed Job, one pod per VM\n"
		"# (kubectl apply -f THIS_FILE).  The claim holds the state\n"
		"# folder, the sources and the destinations, mounted at the\n"
		"# paths the plan names.\n"
		"apiVersion: batch/v1\nkind: Job\nmetadata:\n"
		"  name: vmconv-batch\nspec:\n  completionMode: Indexed\n"
		"  completions: %zu\n  parallelism: %u\n"
		"  backoffLimitPerIndex: 1\n  maxFailedIndexes: %zu\n"
		"  template:\n    spec:\n      restartPolicy: Never\n"
		"      containers:\n      - name: vmconv\n        image: ",
		o->n, o->jobs ? o->jobs : 1, o->n);
	yq(f, o->image);
	fputs("\n        command: [\"sh\", \"-c\", ", f);
	{
		char *cmd = NULL;
		size_t len = 0;
		FILE *m = open_memstream(&cmd, &len);

		if (m) {
			shq(m, o->self);
			fputs(" batch run-one --state ", m);
			shq(m, o->state);
			fputs(" --id \"$JOB_COMPLETION_INDEX\"", m);
			fclose(m);
			yq(f, cmd);
		}
		free(cmd);
	}
	fputs("]\n        volumeMounts:\n        - name: state\n"
	      "          mountPath: ", f);
	yq(f, o->state);
	fputs("\n      volumes:\n      - name: state\n"
	      "        persistentVolumeClaim:\n          claimName: ", f);
	yq(f, o->claim);
	fputc('\n', f);
}

int vmc_batch_emit(const struct vmc_batch_emit_opts *o, FILE *out,
		   struct vmc_error *err)
{
	if (!strcmp(o->engine, "parallel"))
		parallel(o, out);
	else if (!strcmp(o->engine, "slurm"))
		slurm(o, out);
	else if (!strcmp(o->engine, "k8s"))
		k8s(o, out);
	else
		return vmc_error_set(err, EINVAL, "--engine must be parallel,"
				     " slurm or k8s, not '%s'", o->engine);
	return 0;
}
