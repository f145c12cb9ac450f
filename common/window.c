/* File windows: see common/window.h and include/vmconv/io.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vmconv/io.h>

#include "common/window.h"

#define MAX_WINDOWS 4096
#define MAX_OPEN 256

struct window {
	const void *owner;
	char *name, *file;
	uint64_t base, len;
};

/* An open fd on a window's file. */
struct open_win {
	int fd;
	dev_t dev;
	ino_t ino;
	uint64_t base, len;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct window wins[MAX_WINDOWS];
static size_t n_wins;
static struct open_win opens[MAX_OPEN];
static atomic_size_t n_opens;

int vmc_window_add(const void *owner, const char *name, const char *file,
		   uint64_t base, uint64_t len, struct vmc_error *err)
{
	struct window *w;
	struct stat st;

	if (stat(file, &st) < 0)
		return vmc_error_errno(err, errno, "%s: cannot stat", file);
	if (!S_ISREG(st.st_mode) || base > (uint64_t)st.st_size ||
	    len > (uint64_t)st.st_size - base)
		return vmc_error_set(err, EINVAL, "%s: bytes 0x%" PRIx64
				     "+0x%" PRIx64 " for '%s' lie past its"
				     " end (0x%" PRIx64 ")", file, base, len,
				     name, (uint64_t)st.st_size);
	pthread_mutex_lock(&lock);
	if (n_wins == MAX_WINDOWS) {
		pthread_mutex_unlock(&lock);
		return vmc_error_set(err, E2BIG, "%s: more than %d file"
				     " windows", name, MAX_WINDOWS);
	}
	w = &wins[n_wins];
	w->name = strdup(name);
	w->file = strdup(file);
	if (!w->name || !w->file) {
		free(w->name);
		free(w->file);
		pthread_mutex_unlock(&lock);
		return vmc_error_set(err, ENOMEM, "out of memory");
	}
	w->owner = owner;
	w->base = base;
	w->len = len;
	n_wins++;
	pthread_mutex_unlock(&lock);
	return 0;
}

void vmc_window_drop(const void *owner)
{
	size_t i = 0;

	pthread_mutex_lock(&lock);
	while (i < n_wins) {
		if (wins[i].owner != owner) {
			i++;
			continue;
		}
		free(wins[i].name);
		free(wins[i].file);
		wins[i] = wins[--n_wins];
	}
	pthread_mutex_unlock(&lock);
}

static struct window *find_name(const char *name)
{
	for (size_t i = 0; i < n_wins; i++)
		if (!strcmp(wins[i].name, name))
			return &wins[i];
	return NULL;
}

bool vmc_window_exists(const char *name)
{
	bool r;

	if (!name)
		return false;
	pthread_mutex_lock(&lock);
	r = find_name(name) != NULL;
	pthread_mutex_unlock(&lock);
	return r;
}

int vmc_window_stat(const char *name, struct stat *st, uint64_t *base)
{
	struct window *w;
	char *file = NULL;
	uint64_t len = 0;
	int r;

	*base = 0;
	pthread_mutex_lock(&lock);
	w = find_name(name);
	if (w) {
		file = strdup(w->file);
		*base = w->base;
		len = w->len;
	}
	pthread_mutex_unlock(&lock);
	if (!w)
		return stat(name, st);
	if (!file) {
		errno = ENOMEM;
		return -1;
	}
	r = stat(file, st);
	free(file);
	if (r == 0) {
		st->st_size = (off_t)len;
		st->st_blocks = (blkcnt_t)((len + 511) / 512);
	}
	return r;
}

/* The slot of fd among the open windows, or -1.  Lock held. */
static int find_fd(int fd)
{
	size_t n = atomic_load(&n_opens);

	for (size_t i = 0; i < n; i++)
		if (opens[i].fd == fd)
			return (int)i;
	return -1;
}

static void drop_slot(int i)
{
	size_t n = atomic_load(&n_opens);

	opens[i] = opens[n - 1];
	atomic_store(&n_opens, n - 1);
}

void vmc_window_forget_fd(int fd)
{
	int i;

	if (atomic_load(&n_opens) == 0)
		return;
	pthread_mutex_lock(&lock);
	i = find_fd(fd);
	if (i >= 0)
		drop_slot(i);
	pthread_mutex_unlock(&lock);
}

static int register_fd(int fd, const struct window *w, const char *name,
		       struct vmc_error *err)
{
	struct stat st;
	int i;

	if (fstat(fd, &st) < 0)
		return vmc_error_errno(err, errno, "%s: cannot stat", name);
	if (!S_ISREG(st.st_mode) || w->base > (uint64_t)st.st_size ||
	    w->len > (uint64_t)st.st_size - w->base)
		return vmc_error_set(err, EIO, "%s: its archive %s changed"
				     " (now 0x%" PRIx64 " bytes)", name,
				     w->file, (uint64_t)st.st_size);
	i = find_fd(fd);
	if (i < 0) {
		if (atomic_load(&n_opens) == MAX_OPEN)
			return vmc_error_set(err, EMFILE, "%s: more than %d"
					     " windows open", name, MAX_OPEN);
		i = (int)atomic_load(&n_opens);
		atomic_store(&n_opens, (size_t)i + 1);
	}
	opens[i] = (struct open_win){ fd, st.st_dev, st.st_ino, w->base,
				      w->len };
	return 0;
}

int vmc_window_open(const char *name, int flags, struct vmc_error *err)
{
	struct window *w;
	int fd;

	pthread_mutex_lock(&lock);
	w = find_name(name);
	if (!w) {
		pthread_mutex_unlock(&lock);
		return -2;
	}
	if ((flags & O_ACCMODE) != O_RDONLY) {
		pthread_mutex_unlock(&lock);
		return vmc_error_set(err, EROFS, "%s: a member read where it"
				     " lies in its archive, read-only", name);
	}
	fd = open(w->file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		vmc_error_errno(err, errno, "%s: cannot open %s", name,
				w->file);
	} else if (register_fd(fd, w, name, err) < 0) {
		close(fd);
		fd = -1;
	}
	pthread_mutex_unlock(&lock);
	return fd;
}

/* The window fd is open on, into *w; false if it is a plain fd. */
static bool window_of(int fd, struct open_win *w)
{
	struct stat st;
	int i;

	if (atomic_load(&n_opens) == 0)
		return false;
	pthread_mutex_lock(&lock);
	i = find_fd(fd);
	if (i >= 0)
		*w = opens[i];
	pthread_mutex_unlock(&lock);
	if (i < 0)
		return false;
	/* a stale slot (the fd closed behind our back and reused) must
	 * never shift another file's reads */
	if (fstat(fd, &st) < 0 || st.st_dev != w->dev || st.st_ino != w->ino) {
		vmc_window_forget_fd(fd);
		return false;
	}
	return true;
}

bool vmc_window_is_fd(int fd)
{
	struct open_win w;

	return window_of(fd, &w);
}

ssize_t vmc_file_pread(int fd, void *buf, size_t len, uint64_t off)
{
	struct open_win w;

	if (!window_of(fd, &w))
		return pread(fd, buf, len, (off_t)off);
	if (off >= w.len)
		return 0;
	if (len > w.len - off)
		len = (size_t)(w.len - off);
	return pread(fd, buf, len, (off_t)(w.base + off));
}

int vmc_file_fstat(int fd, struct stat *st)
{
	struct open_win w;

	if (fstat(fd, st) < 0)
		return -1;
	if (window_of(fd, &w)) {
		st->st_size = (off_t)w.len;
		st->st_blocks = (blkcnt_t)((w.len + 511) / 512);
	}
	return 0;
}

/* SEEK_DATA / SEEK_HOLE inside a window, in window offsets. */
static off_t seek_in(int fd, const struct open_win *w, uint64_t off,
		     int whence)
{
	off_t r;

	if (off >= w->len) {
		errno = ENXIO;
		return -1;
	}
	r = lseek(fd, (off_t)(w->base + off), whence);
	if (r < 0)
		return r;
	if ((uint64_t)r >= w->base + w->len) {
		if (whence == SEEK_DATA) {
			errno = ENXIO;
			return -1;
		}
		return (off_t)w->len;
	}
	return r - (off_t)w->base;
}

off_t vmc_file_lseek(int fd, off_t off, int whence)
{
	struct open_win w;

	if (!window_of(fd, &w))
		return lseek(fd, off, whence);
	if (off < 0) {
		errno = EINVAL;
		return -1;
	}
	switch (whence) {
	case SEEK_DATA:
	case SEEK_HOLE:
		return seek_in(fd, &w, (uint64_t)off, whence);
	case SEEK_END:
		off = (off_t)w.len + off;
		/* fall through */
	case SEEK_SET:
		return lseek(fd, (off_t)(w.base + (uint64_t)off), SEEK_SET) <
		       0 ? -1 : off;
	default:
		errno = EINVAL;
		return -1;
	}
}

int vmc_file_close(int fd)
{
	vmc_window_forget_fd(fd);
	return close(fd);
}
