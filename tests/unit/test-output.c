/* Unit tests: atomic output (common/output.c). */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vmconv/vmconv.h>

#include "tests/unit/scratch.h"


static int count_files(void)
{
	DIR *d = opendir(scratch_dir);
	struct dirent *de;
	int n = 0;

	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

TestSuite(output, .init = scratch_setup, .fini = scratch_teardown);

Test(output, abort_leaves_nothing)
{
	struct vmc_output *o = vmc_output_new();
	struct vmc_error err;
	char p[128];
	int fd;

	snprintf(p, sizeof(p), "%s/disk.qcow2", scratch_dir);
	fd = vmc_output_open(o, p, &err);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "abc", 3), 3);
	cr_assert_eq(count_files(), 1);
	cr_assert_eq(access(p, F_OK), -1);
	vmc_output_abort(o);
	vmc_output_free(o);
	cr_assert_eq(count_files(), 0);
}

Test(output, commit_renames_every_file)
{
	struct vmc_output *o = vmc_output_new();
	struct vmc_error err;
	char p[128], e[128];

	snprintf(p, sizeof(p), "%s/disk.vmdk", scratch_dir);
	snprintf(e, sizeof(e), "%s/disk-s001.vmdk", scratch_dir);
	cr_assert_geq(vmc_output_open(o, p, &err), 0);
	cr_assert_geq(vmc_output_open(o, e, &err), 0);
	cr_assert_eq(vmc_output_open(o, e, &err), -1, "same name twice");
	cr_assert_eq(vmc_output_commit(o, &err), 0, "%s", err.msg);
	vmc_output_free(o);
	cr_assert_eq(access(p, F_OK), 0);
	cr_assert_eq(access(e, F_OK), 0);
	cr_assert_eq(count_files(), 2);
}

Test(output, stale_temporaries_of_dead_processes_are_removed)
{
	char p[128], stale[160];
	pid_t child = fork();
	FILE *f;

	cr_assert_geq(child, 0);
	if (child == 0)
		_exit(0);
	waitpid(child, NULL, 0);	/* now a pid that does not exist */
	snprintf(p, sizeof(p), "%s/disk.img", scratch_dir);
	snprintf(stale, sizeof(stale), "%s/.disk.img.vmconv-tmp.%d", scratch_dir,
		 (int)child);
	f = fopen(stale, "w");
	cr_assert_not_null(f);
	fclose(f);
	/* A live process's temporary stays. */
	snprintf(stale, sizeof(stale), "%s/.other.img.vmconv-tmp.1", scratch_dir);
	f = fopen(stale, "w");
	fclose(f);
	cr_assert_eq(vmc_output_clean_stale(p), 1);
	cr_assert_eq(count_files(), 1);
}
