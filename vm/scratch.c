/* Scratch folders for whole-VM work (an OVA's members, joined or
 * inflated OVF files, disks on their way into an OVA), named
 * ".vmconv-KIND.PID.XXXXXX" beside the output.  A run killed before it
 * removed its folder leaves it behind; the next run in that folder
 * removes those whose process is gone, as convert's atomic output does
 * for its temporary files.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "vm/vm.h"

static int rm_one(const char *p, const struct stat *st, int flag,
		  struct FTW *f)
{
	remove(p);
	return 0;
}

void vmc_scratch_remove(const char *dir)
{
	if (dir)
		nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

void vmc_scratch_clean_stale(const char *parent)
{
	DIR *d = opendir(parent);
	struct dirent *e;

	while (d && (e = readdir(d))) {
		char kind[32], *path;
		int pid, n = 0;

		if (strncmp(e->d_name, ".vmconv-", 8) ||
		    sscanf(e->d_name, ".vmconv-%31[a-z-].%d.%*6c%n", kind,
			   &pid, &n) < 2 || n == 0 || e->d_name[n] ||
		    pid <= 0 || kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		if (asprintf(&path, "%s/%s", parent, e->d_name) > 0) {
			vmc_scratch_remove(path);
			free(path);
		}
	}
	if (d)
		closedir(d);
}

char *vmc_scratch_new(const char *parent, const char *kind,
		      struct vmc_error *err)
{
	char *t;

	vmc_scratch_clean_stale(parent);
	if (asprintf(&t, "%s/.vmconv-%s.%d.XXXXXX", parent, kind,
		     (int)getpid()) < 0)
		return vmc_error_set(err, ENOMEM, "out of memory"), NULL;
	if (!mkdtemp(t)) {
		vmc_error_errno(err, errno, "cannot make a scratch folder in"
				" %s", parent);
		free(t);
		return NULL;
	}
	return t;
}
