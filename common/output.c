/* Atomic output: temporary files renamed into place on commit.  See
 * include/vmconv/output.h. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vmconv/output.h>

#define TMP_TAG ".vmconv-tmp."

struct out_file {
	int fd;
	char *final;
	char *tmp;
	int slot;		/* index in the signal-cleanup table */
};

struct vmc_output {
	struct out_file *f;
	size_t n;
	bool committed;
	bool unsafe;		/* -t unsafe: never wait for the disk */
};

/* Temporary paths of every live output, for the signal handler, which may
 * only call async-signal-safe functions: fixed storage, no malloc. */
#define MAX_LIVE 256
static char live_path[MAX_LIVE][PATH_MAX];
static volatile sig_atomic_t live_used[MAX_LIVE];
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;

static int live_add(const char *path)
{
	int slot = -1;

	pthread_mutex_lock(&live_lock);
	for (int i = 0; i < MAX_LIVE; i++) {
		if (!live_used[i]) {
			snprintf(live_path[i], PATH_MAX, "%s", path);
			live_used[i] = 1;
			slot = i;
			break;
		}
	}
	pthread_mutex_unlock(&live_lock);
	return slot;
}

static void live_remove(int slot)
{
	if (slot >= 0)
		live_used[slot] = 0;
}

struct vmc_output *vmc_output_new(void)
{
	return calloc(1, sizeof(struct vmc_output));
}

static char *tmp_name(const char *final)
{
	char *a = strdup(final), *b = strdup(final), *res = NULL;

	if (a && b && asprintf(&res, "%s/.%s" TMP_TAG "%ld", dirname(a),
			       basename(b), (long)getpid()) < 0)
		res = NULL;
	free(a);
	free(b);
	return res;
}

int vmc_output_open(struct vmc_output *o, const char *final_path,
		    struct vmc_error *err)
{
	struct out_file *nf, *f;
	struct stat st;

	for (size_t i = 0; i < o->n; i++)
		if (!strcmp(o->f[i].final, final_path))
			return vmc_error_set(err, EEXIST,
				"%s: written twice in one output", final_path);
	nf = realloc(o->f, (o->n + 1) * sizeof(*nf));
	if (!nf)
		return vmc_error_set(err, ENOMEM, "out of memory");
	o->f = nf;
	f = &o->f[o->n];
	f->final = strdup(final_path);
	f->tmp = tmp_name(final_path);
	if (!f->final || !f->tmp) {
		free(f->final);
		free(f->tmp);
		return vmc_error_set(err, ENOMEM, "out of memory");
	}
	/* The target may be a block device: write it in place, there is
	 * nothing to rename. */
	if (stat(final_path, &st) == 0 && S_ISBLK(st.st_mode)) {
		free(f->tmp);
		f->tmp = NULL;
		f->fd = open(final_path, O_RDWR | O_CLOEXEC);
	} else {
		f->fd = open(f->tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
			     0644);
	}
	if (f->fd < 0) {
		vmc_error_errno(err, errno, "%s: cannot create",
				f->tmp ? f->tmp : final_path);
		free(f->final);
		free(f->tmp);
		return -1;
	}
	f->slot = f->tmp ? live_add(f->tmp) : -1;
	o->n++;
	return f->fd;
}

const char *vmc_output_final_path(struct vmc_output *o, int fd)
{
	for (size_t i = 0; i < o->n; i++)
		if (o->f[i].fd == fd)
			return o->f[i].final;
	return NULL;
}

const char *vmc_output_tmp_path(struct vmc_output *o, const char *final_path)
{
	for (size_t i = 0; i < o->n; i++)
		if (!strcmp(o->f[i].final, final_path))
			return o->f[i].tmp;
	return NULL;
}

static int sync_dir(const char *path)
{
	char *copy = strdup(path);
	int fd, r = 0;

	if (!copy)
		return -1;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		r = fsync(fd);
		close(fd);
	}
	free(copy);
	return r;
}

void vmc_output_set_unsafe(struct vmc_output *o, bool unsafe)
{
	o->unsafe = unsafe;
}

bool vmc_output_is_unsafe(const struct vmc_output *o)
{
	return o && o->unsafe;
}

int vmc_output_datasync(struct vmc_output *o, int fd, const char *path,
			struct vmc_error *err)
{
	if (vmc_output_is_unsafe(o))
		return 0;
	if (fdatasync(fd) < 0)
		return vmc_error_errno(err, errno, "%s: flush failed", path);
	return 0;
}

void vmc_output_writeback(struct vmc_output *o)
{
	for (size_t i = 0; o && i < o->n; i++)
		if (o->f[i].fd >= 0)
			sync_file_range(o->f[i].fd, 0, 0,
					SYNC_FILE_RANGE_WRITE);
}

int vmc_output_commit(struct vmc_output *o, struct vmc_error *err)
{
	for (size_t i = 0; i < o->n && !o->unsafe; i++)
		if (fsync(o->f[i].fd) < 0)
			return vmc_error_errno(err, errno, "%s: fsync failed",
					       o->f[i].final);
	/* Extents first, the main file (opened first) last, so that the
	 * name users open only appears once everything it refers to does. */
	for (size_t i = o->n; i-- > 0;) {
		struct out_file *f = &o->f[i];

		if (!f->tmp)
			continue;
		if (rename(f->tmp, f->final) < 0)
			return vmc_error_errno(err, errno,
				"%s: cannot rename into place", f->final);
		live_remove(f->slot);
		f->slot = -1;
		free(f->tmp);
		f->tmp = NULL;
		if (!o->unsafe)
			sync_dir(f->final);
	}
	for (size_t i = 0; i < o->n; i++) {
		close(o->f[i].fd);
		o->f[i].fd = -1;
	}
	o->committed = true;
	return 0;
}

void vmc_output_abort(struct vmc_output *o)
{
	for (size_t i = 0; o && i < o->n; i++) {
		struct out_file *f = &o->f[i];

		if (f->fd >= 0)
			close(f->fd);
		f->fd = -1;
		if (f->tmp) {
			unlink(f->tmp);
			live_remove(f->slot);
			free(f->tmp);
			f->tmp = NULL;
		}
	}
}

void vmc_output_free(struct vmc_output *o)
{
	if (!o)
		return;
	vmc_output_abort(o);
	for (size_t i = 0; i < o->n; i++)
		free(o->f[i].final);
	free(o->f);
	free(o);
}

static void on_signal(int sig)
{
	for (int i = 0; i < MAX_LIVE; i++)
		if (live_used[i])
			unlink(live_path[i]);
	signal(sig, SIG_DFL);
	raise(sig);
}

void vmc_output_install_signal_handlers(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

int vmc_output_clean_stale(const char *path)
{
	char *copy = strdup(path), *dir;
	struct dirent *de;
	int removed = 0;
	DIR *d;

	if (!copy)
		return 0;
	dir = dirname(copy);
	d = opendir(dir);
	while (d && (de = readdir(d))) {
		const char *tag = strstr(de->d_name, TMP_TAG);
		char *end, full[PATH_MAX];
		long pid;

		if (de->d_name[0] != '.' || !tag)
			continue;
		pid = strtol(tag + strlen(TMP_TAG), &end, 10);
		if (*end || pid <= 0 || pid == (long)getpid())
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;	/* still running (or not ours) */
		if (snprintf(full, sizeof(full), "%s/%s", dir, de->d_name) <
		    (int)sizeof(full) && unlink(full) == 0)
			removed++;
	}
	if (d)
		closedir(d);
	free(copy);
	return removed;
}
