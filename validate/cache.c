/* The cache folder: appliances, guest kernels, console logs.  See
 * validate/cache.h. */
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "validate/cache.h"

int vmc_mkdir_p(const char *path, struct vmc_error *err)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);

	if (n >= sizeof(buf))
		return vmc_error_set(err, ENAMETOOLONG, "%s: path too long",
				     path);
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return vmc_error_errno(err, errno, "%s", buf);
		*p = '/';
	}
	if (mkdir(buf, 0755) < 0 && errno != EEXIST)
		return vmc_error_errno(err, errno, "%s", buf);
	return 0;
}

/* A cache in a shared folder (/tmp) must be ours alone: a folder there
 * made by someone else could feed us a kernel or an appliance. */
static int private_dir(const char *dir, struct vmc_error *err)
{
	struct stat st;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return vmc_error_errno(err, errno, "%s", dir);
	if (lstat(dir, &st) < 0)
		return vmc_error_errno(err, errno, "%s", dir);
	if (!S_ISDIR(st.st_mode) || st.st_uid != getuid() ||
	    (st.st_mode & 077))
		return vmc_error_set(err, EPERM, "%s: cache folder is not a"
				     " folder of this user closed to others"
				     " (refused; set VMCONV_CACHE)", dir);
	return 0;
}

int vmc_cache_dir(char *buf, size_t len, struct vmc_error *err)
{
	const char *c = getenv("VMCONV_CACHE"), *x = getenv("XDG_CACHE_HOME");
	const char *home = getenv("HOME");

	if (c && *c)
		snprintf(buf, len, "%s", c);
	else if (x && *x)
		snprintf(buf, len, "%s/vmconv", x);
	else {
		if (!home || !*home) {
			struct passwd *pw = getpwuid(getuid());

			home = pw && pw->pw_dir && *pw->pw_dir ?
			       pw->pw_dir : NULL;
		}
		if (!home) {
			snprintf(buf, len, "/tmp/vmconv-cache-%u",
				 (unsigned)getuid());
			return private_dir(buf, err);
		}
		snprintf(buf, len, "%s/.cache/vmconv", home);
	}
	return vmc_mkdir_p(buf, err);
}
