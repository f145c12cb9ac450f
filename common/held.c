/* The files an open image reads from: see common/held.h. */
#include <stdlib.h>
#include <sys/stat.h>

#include "common/held.h"

int vmc_held_add(struct vmc_held_files *h, int fd, const struct stat *st)
{
	struct vmc_held_file *v;

	for (size_t i = 0; i < h->n; i++)
		if (h->v[i].fd == fd && h->v[i].dev == st->st_dev &&
		    h->v[i].ino == st->st_ino)
			return 0;
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 8;

		v = realloc(h->v, cap * sizeof(*v));
		if (!v)
			return -1;
		h->v = v;
		h->cap = cap;
	}
	h->v[h->n].fd = fd;
	h->v[h->n].dev = st->st_dev;
	h->v[h->n].ino = st->st_ino;
	h->n++;
	return 0;
}

int vmc_held_merge(struct vmc_held_files *to,
		   const struct vmc_held_files *from)
{
	struct stat st;

	for (size_t i = 0; i < from->n; i++) {
		st.st_dev = from->v[i].dev;
		st.st_ino = from->v[i].ino;
		if (vmc_held_add(to, from->v[i].fd, &st) < 0)
			return -1;
	}
	return 0;
}

void vmc_held_free(struct vmc_held_files *h)
{
	free(h->v);
	h->v = NULL;
	h->n = h->cap = 0;
}

/* Each descriptor once: the entries that match its file now share one
 * identity, and vmc_held_add keeps no two entries alike. */
size_t vmc_held_fds(const struct vmc_held_files *h, int *fds, size_t max)
{
	size_t n = 0;
	struct stat st;

	for (size_t i = 0; i < h->n; i++) {
		const struct vmc_held_file *f = &h->v[i];

		if (fstat(f->fd, &st) < 0 || st.st_dev != f->dev ||
		    st.st_ino != f->ino)
			continue;
		if (n < max)
			fds[n] = f->fd;
		n++;
	}
	return n;
}
