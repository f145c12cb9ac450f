/* The state folder: plan.json, a journal per VM written by rename, the
 * run lock and the per-VM locks (flock, which NFS v4 carries), and the
 * progress files the runner's view reads. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch/batch.h"

const char *vmc_batch_phase_name(enum vmc_batch_phase ph)
{
	static const char *const n[] = { "pending", "converting",
					 "injecting", "validating", "done" };

	return ph <= VMC_BATCH_DONE ? n[ph] : "?";
}

char *vmc_batch_path(const char *state, const char *dir, size_t id,
		     const char *suffix)
{
	char *r;

	if (asprintf(&r, "%s/%s/%zu%s", state, dir, id, suffix) < 0)
		return NULL;
	return r;
}

int vmc_batch_write_file(const char *path, const char *data, size_t len,
			 struct vmc_error *err)
{
	char tmp[PATH_MAX];
	int fd;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path,
			     (int)getpid()) >= sizeof(tmp))
		return vmc_error_set(err, ENAMETOOLONG, "%s: path too long",
				     path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return vmc_error_errno(err, errno, "%s: cannot create", tmp);
	while (len) {
		ssize_t w = write(fd, data, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto fail;
		data += w;
		len -= (size_t)w;
	}
	if (fsync(fd) < 0 || close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	if (rename(tmp, path) < 0) {
		fd = -1;
		goto fail;
	}
	return 0;
fail:
	vmc_error_errno(err, errno ? errno : EIO, "%s: cannot write", path);
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return -1;
}

static int write_json(const char *path, json_t *j, struct vmc_error *err)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
	int r;

	if (!s)
		return vmc_error_set(err, ENOMEM, "%s: out of memory", path);
	r = vmc_batch_write_file(path, s, strlen(s), err);
	free(s);
	return r;
}

int vmc_batch_state_prepare(const char *state, const struct vmc_batch_plan *p,
			    struct vmc_error *err)
{
	static const char *const dirs[] = { "", "/vm", "/logs" };
	char path[PATH_MAX];
	json_t *j;
	int r;

	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s%s", state, dirs[i]);
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return vmc_error_errno(err, errno, "%s: cannot create"
					       " the state folder", path);
	}
	snprintf(path, sizeof(path), "%s/plan.json", state);
	j = vmc_batch_plan_json(p);
	r = write_json(path, j, err);
	json_decref(j);
	return r;
}

struct vmc_batch_plan *vmc_batch_state_plan(const char *state,
					    struct vmc_error *err)
{
	char path[PATH_MAX];
	struct vmc_batch_plan *p;
	json_error_t je;
	json_t *j;

	snprintf(path, sizeof(path), "%s/plan.json", state);
	j = json_load_file(path, 0, &je);
	if (!j) {
		vmc_error_set(err, ENOENT, "%s: %s (not a batch state folder?)",
			      path, je.text);
		return NULL;
	}
	p = vmc_batch_plan_from_json(j, err);
	json_decref(j);
	if (!p)
		vmc_error_prefix(err, "%s", state);
	return p;
}

json_t *vmc_batch_journal_read(const char *state, size_t id)
{
	char *path = vmc_batch_path(state, "vm", id, ".json");
	json_t *j = path ? json_load_file(path, 0, NULL) : NULL;

	free(path);
	if (j && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

int vmc_batch_journal_write(const char *state, size_t id, json_t *j,
			    struct vmc_error *err)
{
	char *path = vmc_batch_path(state, "vm", id, ".json");
	int r;

	if (!path)
		return vmc_error_set(err, ENOMEM, "out of memory");
	r = write_json(path, j, err);
	free(path);
	return r;
}

int vmc_batch_lock(const char *path, struct vmc_error *err)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0)
		return vmc_error_errno(err, errno, "%s: cannot open", path);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;

		close(fd);
		return vmc_error_set(err, e == EWOULDBLOCK ? EWOULDBLOCK : e,
				     "%s: held by another process", path);
	}
	return fd;
}

bool vmc_batch_vm_idle(const char *state, size_t id)
{
	char *path = vmc_batch_path(state, "vm", id, ".lock");
	int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	bool idle = true;

	if (fd >= 0) {
		idle = flock(fd, LOCK_SH | LOCK_NB) == 0;
		close(fd);
	}
	free(path);
	return idle;
}

void vmc_batch_progress_write(const char *state, size_t id, const char *phase,
			      uint64_t done, uint64_t total)
{
	char *path = vmc_batch_path(state, "vm", id, ".progress");
	char buf[128];
	int n = snprintf(buf, sizeof(buf), "%s %llu %llu\n", phase,
			 (unsigned long long)done, (unsigned long long)total);

	if (path)
		vmc_batch_write_file(path, buf, (size_t)n, NULL);
	free(path);
}

int vmc_batch_progress_read(const char *state, size_t id, char *phase,
			    size_t len, uint64_t *done, uint64_t *total)
{
	char *path = vmc_batch_path(state, "vm", id, ".progress");
	FILE *f = path ? fopen(path, "r") : NULL;
	unsigned long long d = 0, t = 0;
	char ph[32];
	int r = -1;

	if (f && fscanf(f, "%31s %llu %llu", ph, &d, &t) == 3) {
		snprintf(phase, len, "%s", ph);
		*done = d;
		*total = t;
		r = 0;
	}
	if (f)
		fclose(f);
	free(path);
	return r;
}
