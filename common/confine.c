/* The parent policy: see common/confine.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vmconv/image.h>

#include "common/confine.h"
#include "common/held.h"
#include "common/window.h"

#define MAX_ALLOWED 32

/* Folders widened by the user: set before any image is opened. */
static char *allowed[MAX_ALLOWED];
static unsigned n_allowed;

static __thread unsigned depth;
static __thread char top_dir[PATH_MAX];
static __thread struct vmc_held_files *recorder;

struct vmc_held_files *vmc_confine_record(struct vmc_held_files *to)
{
	struct vmc_held_files *prev = recorder;

	recorder = to;
	return prev;
}

int vmc_confine_allow_dir(const char *dir, struct vmc_error *err)
{
	struct stat st;
	char *real;

	if (n_allowed == MAX_ALLOWED)
		return vmc_error_set(err, E2BIG, "%s: more than %d parent"
				     " folders allowed", dir, MAX_ALLOWED);
	real = realpath(dir, NULL);
	if (!real)
		return vmc_error_errno(err, errno, "%s: cannot resolve", dir);
	if (stat(real, &st) < 0 || !S_ISDIR(st.st_mode)) {
		free(real);
		return vmc_error_set(err, ENOTDIR, "%s: not a folder", dir);
	}
	allowed[n_allowed++] = real;
	return 0;
}

void vmc_confine_reset(void)
{
	while (n_allowed > 0)
		free(allowed[--n_allowed]);
}

/* The folder of path's real path into out (PATH_MAX bytes); "" if path
 * has no real path. */
static void real_dir(const char *path, char *out)
{
	char *r = realpath(path, NULL), *slash;

	out[0] = '\0';
	if (!r)
		return;
	slash = strrchr(r, '/');
	if (slash == r)
		slash[1] = '\0';	/* a file in / */
	else if (slash)
		*slash = '\0';
	snprintf(out, PATH_MAX, "%s", r);
	free(r);
}

int vmc_confine_enter(const char *filename, struct vmc_error *err)
{
	(void)err;
	if (depth++ == 0)
		real_dir(filename, top_dir);
	return 0;
}

void vmc_confine_leave(void)
{
	if (depth > 0 && --depth == 0)
		top_dir[0] = '\0';
}

bool vmc_confine_trusted(void)
{
	return depth <= 1;
}

static bool under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (n == 0)
		return false;
	if (!strcmp(dir, "/"))
		return true;
	return !strncmp(path, dir, n) && path[n] == '/';
}

static bool inside(const char *real, const char *namer)
{
	char ndir[PATH_MAX];

	real_dir(namer, ndir);
	if (under(real, ndir) || under(real, top_dir))
		return true;
	for (unsigned i = 0; i < n_allowed; i++)
		if (under(real, allowed[i]))
			return true;
	return false;
}

/* An absolute name or one with a ".." component: when it does not
 * resolve, nothing proves it stays inside, so it is refused, not missed. */
static bool may_escape(const char *name)
{
	const char *p = name;

	if (name[0] == '/')
		return true;
	while (*p) {
		size_t n = strcspn(p, "/");

		if (n == 2 && p[0] == '.' && p[1] == '.')
			return true;
		p += n;
		if (*p)
			p++;
	}
	return false;
}

/* "nbd:host:1", "http://x", "json:{...}": QEMU reads these as protocols,
 * so they are never files here either. */
static bool protocol_like(const char *name)
{
	size_t n = strcspn(name, ":/");

	return n > 0 && name[n] == ':';
}

static const char *type_name(mode_t m)
{
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISBLK(m))
		return "a block device";
	if (S_ISCHR(m))
		return "a character device";
	if (S_ISDIR(m))
		return "a folder";
	if (S_ISSOCK(m))
		return "a socket";
	return "not a regular file";
}

static char *refuse(struct vmc_error *err, const char *namer,
		    const char *field, const char *name, const char *why)
{
	vmc_error_set(err, EPERM, "%s: %s '%s' refused: %s", namer, field,
		      name, why);
	return NULL;
}

char *vmc_confine_resolve(const char *namer, const char *field,
			  const char *name, struct vmc_error *err)
{
	char why[PATH_MAX + 128], *cand, *real;
	struct stat st;

	if (!name[0])
		return refuse(err, namer, field, name, "empty name");
	if (protocol_like(name))
		return refuse(err, namer, field, name,
			      "a protocol name, not a file");
	cand = vmc_path_relative_to(namer, name);
	if (!cand) {
		vmc_error_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	/* a member of the archive the namer lies in, read where it lies */
	if (vmc_window_exists(namer) && !may_escape(name) &&
	    vmc_window_exists(cand))
		return cand;
	real = realpath(cand, NULL);
	if (!real && may_escape(name)) {
		snprintf(why, sizeof(why), "%s does not exist and may lie"
			 " outside the image's folder", cand);
		free(cand);
		return refuse(err, namer, field, name, why);
	}
	if (!real) {
		vmc_error_errno(err, errno, "%s: %s '%s' (%s)", namer, field,
				name, cand);
		free(cand);
		return NULL;
	}
	free(cand);
	if (!inside(real, namer)) {
		snprintf(why, sizeof(why), "%s is outside the image's folder"
			 " (--allow-parent-dir widens this)", real);
		free(real);
		return refuse(err, namer, field, name, why);
	}
	if (stat(real, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(why, sizeof(why), "%s is %s", real,
			 type_name(st.st_mode));
		free(real);
		return refuse(err, namer, field, name, why);
	}
	return real;
}

/* fd into the files the thread's recorder lists (the sandboxed VM
 * child keeps exactly those open); fd is closed on failure. */
static int recorded(int fd, const struct stat *st, const char *path,
		    struct vmc_error *err)
{
	struct stat own;

	if (!recorder)
		return fd;
	if (!st && fstat(fd, &own) < 0) {
		vmc_error_errno(err, errno, "%s: cannot stat", path);
		close(fd);
		return -1;
	}
	if (vmc_held_add(recorder, fd, st ? st : &own) < 0) {
		vmc_error_set(err, ENOMEM, "out of memory");
		close(fd);
		return -1;
	}
	return fd;
}

int vmc_confine_open(const char *path, int flags, bool own,
		     struct vmc_error *err)
{
	bool trusted = own && vmc_confine_trusted();
	int fd, fl;
	struct stat st;

	fd = vmc_window_open(path, flags, err);
	if (fd >= 0)
		return recorded(fd, NULL, path, err);
	if (fd != -2)
		return fd;
	fd = open(path, flags | O_CLOEXEC | O_NONBLOCK |
		  (trusted ? 0 : O_NOFOLLOW));
	if (fd < 0)
		return vmc_error_errno(err, errno, "%s: cannot open", path);
	if (fstat(fd, &st) < 0) {
		vmc_error_errno(err, errno, "%s: cannot stat", path);
		goto fail;
	}
	if (!S_ISREG(st.st_mode) && !(trusted && S_ISBLK(st.st_mode))) {
		vmc_error_set(err, EPERM, "%s: is %s, not a regular file%s",
			      path, type_name(st.st_mode),
			      trusted ? " or block device" : "");
		goto fail;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		vmc_error_errno(err, errno, "%s: fcntl", path);
		goto fail;
	}
	vmc_window_forget_fd(fd);
	return recorded(fd, &st, path, err);
fail:
	close(fd);
	return -1;
}
