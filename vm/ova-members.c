/* The members of an OVA (DSP0243 section 5.3: a ustar or pax tar, GNU
 * long names accepted), read with libarchive without unpacking them.
 * libarchive parses the headers (ustar, pax extended headers, GNU long
 * names); right after a header, the bytes it has consumed
 * (archive_filter_bytes, no decompression filter being in the way) are
 * where the member's data starts.  That offset is checked against the
 * first block libarchive then reads before the member is named as a file
 * window over the OVA; a member whose check fails is copied into the
 * scratch folder instead (a note says so).  The descriptor and manifest
 * are read into memory.  Every size and offset comes from the untrusted
 * archive and is checked against the OVA's size before use.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include <vmconv/bytes.h>
#include <vmconv/io.h>

#include "common/window.h"
#include "vm/ova.h"
#include "vm/ovf.h"

#define CHECK_LEN 65536u
#define BUF (1u << 20)

static int has_ext(const char *name, const char *ext)
{
	size_t n = strlen(name), e = strlen(ext);

	return n > e && !strcasecmp(name + n - e, ext);
}

const char *vmc_ova_scratch(struct vmc_ova *o)
{
	char *copy;

	if (o->dir)
		return o->dir;
	copy = strdup(o->path);
	if (!copy)
		return vmc_error_set(o->err, ENOMEM, "out of memory"), NULL;
	o->dir = vmc_scratch_new(o->tmp_parent ? o->tmp_parent :
				 dirname(copy), "ova", o->err);
	if (!o->dir)
		vmc_error_prefix(o->err, "%s", o->path);
	free(copy);
	return o->dir;
}

static int add_window(struct vmc_ova *o, struct vmc_ova_member *m,
		      const char *file, uint64_t base)
{
	char *name;
	int r;

	if (asprintf(&name, "%s/%s", o->path, m->name) < 0)
		return vmc_error_set(o->err, ENOMEM, "out of memory");
	r = vmc_window_add(o->owner, name, file, base, m->size, o->err);
	free(name);
	return r;
}

/* The rest of m's data (after the first block, already in buf) into a
 * new file of the scratch folder, digested on the way. */
static int extract(struct vmc_ova *o, struct archive *a,
		   struct vmc_ova_member *m, const void *buf, size_t len)
{
	struct vmc_digester *g = vmc_digester_new();
	const char *dir = vmc_ova_scratch(o);
	la_int64_t boff;
	char *p = NULL;
	int fd = -1, r = -1, ar = ARCHIVE_OK;

	if (!g || !dir || asprintf(&p, "%s/%s", dir, m->name) < 0) {
		if (dir)
			vmc_error_set(o->err, ENOMEM, "out of memory");
		goto out;
	}
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0) {
		vmc_error_errno(o->err, errno, "%s: member '%s'", o->path,
				m->name);
		goto out;
	}
	do {
		vmc_digester_update(g, buf, len);
		if (write(fd, buf, len) != (ssize_t)len) {
			vmc_error_errno(o->err, errno, "%s: writing member"
					" '%s' to %s", o->path, m->name, dir);
			goto out;
		}
	} while ((ar = archive_read_data_block(a, &buf, &len, &boff)) ==
		 ARCHIVE_OK);
	if (ar != ARCHIVE_EOF) {
		vmc_error_set(o->err, EIO, "%s: member '%s': %s", o->path,
			      m->name, archive_error_string(a));
		goto out;
	}
	m->extracted = true;
	r = add_window(o, m, p, 0);
out:
	if (g) {
		vmc_digester_final(g, &m->d);
		m->digested = r == 0;
	}
	if (fd >= 0)
		close(fd);
	free(p);
	return r;
}

/* Name m as a window over the OVA where its data lies, once the first
 * block libarchive reads there matches what is at m->off. */
static int place(struct vmc_ova *o, struct archive *a,
		 struct vmc_ova_member *m)
{
	uint8_t *here;
	const void *buf;
	size_t len, n;
	la_int64_t boff;
	int ar, same;

	if (m->size == 0)
		return add_window(o, m, o->path, m->off);
	ar = archive_read_data_block(a, &buf, &len, &boff);
	if (ar != ARCHIVE_OK || boff != 0 || len == 0)
		return vmc_error_set(o->err, EIO, "%s: tar member '%s' (data"
				     " at offset %" PRIu64 "): %s", o->path,
				     m->name, m->off, ar == ARCHIVE_OK ?
				     "data does not start at its beginning" :
				     archive_error_string(a));
	n = VMC_MIN(VMC_MIN(len, (size_t)CHECK_LEN), m->size);
	here = malloc(n);
	if (!here)
		return vmc_error_set(o->err, ENOMEM, "out of memory");
	same = vmc_pread_full(o->fd, here, n, m->off, o->path, o->err) == 0 &&
	       !memcmp(here, buf, n);
	free(here);
	if (same)
		return add_window(o, m, o->path, m->off);
	return extract(o, a, m, buf, len);
}

/* The .ovf or .mf into memory, digested. */
static int read_text(struct vmc_ova *o, struct archive *a,
		     struct vmc_ova_member *m)
{
	struct vmc_digester *g;
	la_ssize_t r;

	if (m->size > VMC_OVA_MAX_TEXT)
		return vmc_error_set(o->err, EFBIG, "%s: member '%s' is larger"
				     " than %u bytes", o->path, m->name,
				     VMC_OVA_MAX_TEXT);
	m->text = malloc((size_t)m->size + 1);
	g = vmc_digester_new();
	if (!m->text || !g) {
		if (g)
			vmc_digester_final(g, &m->d);
		return vmc_error_set(o->err, ENOMEM, "out of memory");
	}
	while (m->text_len < m->size &&
	       (r = archive_read_data(a, m->text + m->text_len,
				      (size_t)m->size - m->text_len)) > 0)
		m->text_len += (size_t)r;
	m->text[m->text_len] = 0;
	vmc_digester_update(g, m->text, m->text_len);
	vmc_digester_final(g, &m->d);
	if (m->text_len != m->size)
		return vmc_error_set(o->err, EIO, "%s: member '%s' (data at"
				     " offset %" PRIu64 ") ends early: %s",
				     o->path, m->name, m->off,
				     archive_error_string(a));
	m->digested = true;
	return 0;
}

static int check_name(struct vmc_ova *o, const char *name,
		      const char *where)
{
	char *desc;
	int r;

	if (asprintf(&desc, "%s (%s)", o->path, where) < 0)
		return vmc_error_set(o->err, ENOMEM, "out of memory");
	r = vmc_ovf_check_name(desc, "tar member", name, o->err);
	free(desc);
	return r;
}

/* Name, type, uniqueness and data range of the member e, into m. */
static int check_entry(struct vmc_ova *o, struct archive *a,
		       struct archive_entry *e, struct vmc_ova_member *m)
{
	const char *name = archive_entry_pathname(e);
	int64_t hdr = archive_read_header_position(a);
	int64_t off = archive_filter_bytes(a, 0);
	int64_t size = archive_entry_size(e);
	char where[64];
	uint64_t end;

	snprintf(where, sizeof(where), "header at offset %" PRId64, hdr);
	if (name && !strncmp(name, "./", 2))
		name += 2;
	if (!name)
		return vmc_error_set(o->err, EINVAL, "%s: tar member without"
				     " a name (%s)", o->path, where);
	if (check_name(o, name, where) < 0)
		return -1;
	for (size_t i = 0; i < o->n; i++)
		if (!strcmp(o->m[i].name, name))
			return vmc_error_set(o->err, EINVAL, "%s: tar member"
					     " '%s' appears twice (data at"
					     " offsets %" PRIu64 " and %" PRId64
					     ")", o->path, name, o->m[i].off,
					     off);
	if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e))
		return vmc_error_set(o->err, EINVAL, "%s: tar member '%s' (%s)"
				     " is not a regular file", o->path, name,
				     where);
	if (archive_entry_sparse_count(e) > 0)
		return vmc_error_set(o->err, ENOTSUP, "%s: tar member '%s' (%s)"
				     " is a sparse tar file", o->path, name,
				     where);
	if (!archive_entry_size_is_set(e) || size < 0 || off < 0 ||
	    vmc_add_overflow((uint64_t)off, (uint64_t)size, &end) ||
	    end > o->file_size)
		return vmc_error_set(o->err, EINVAL, "%s: tar member '%s' (%s)"
				     " holds %" PRId64 " bytes from offset %"
				     PRId64 ", past the end of the archive (%"
				     PRIu64 " bytes)", o->path, name, where,
				     size, off, o->file_size);
	if (o->n == VMC_OVA_MAX_MEMBERS)
		return vmc_error_set(o->err, EINVAL, "%s: more than %d tar"
				     " members", o->path, VMC_OVA_MAX_MEMBERS);
	m->off = (uint64_t)off;
	m->size = (uint64_t)size;
	if (!(m->name = strdup(name)))
		return vmc_error_set(o->err, ENOMEM, "out of memory");
	o->n++;
	return 0;
}

static int one_member(struct vmc_ova *o, struct archive *a,
		      struct archive_entry *e)
{
	struct vmc_ova_member *m = &o->m[o->n];
	int *slot = NULL;

	if (check_entry(o, a, e, m) < 0)
		return -1;
	if (has_ext(m->name, ".ovf"))
		slot = &o->ovf;
	else if (has_ext(m->name, ".mf"))
		slot = &o->mf;
	if (!slot)
		return place(o, a, m);
	if (*slot >= 0)
		return vmc_error_set(o->err, EINVAL, "%s: two %s ('%s', '%s')",
				     o->path, slot == &o->ovf ?
				     "OVF descriptors" : "manifests",
				     o->m[*slot].name, m->name);
	*slot = (int)(m - o->m);
	return read_text(o, a, m);
}

/* A header libarchive could not read: where it starts is where the last
 * member's data, padded to 512 bytes, ends. */
static void damaged(struct vmc_ova *o, struct archive *a)
{
	const struct vmc_ova_member *m = o->n ? &o->m[o->n - 1] : NULL;
	uint64_t at = m ? m->off + VMC_ALIGN_UP(m->size, 512) : 0;
	const char *why = archive_error_string(a);

	vmc_error_set(o->err, EINVAL, "%s: truncated or damaged tar header"
		      " at offset %" PRIu64 " (after member '%s'): %s",
		      o->path, at, m ? m->name : "none",
		      why ? why : "the archive ends inside it");
}

static int open_ova(struct vmc_ova *o)
{
	struct stat st;

	o->fd = open(o->path, O_RDONLY | O_CLOEXEC);
	if (o->fd < 0)
		return vmc_error_errno(o->err, errno, "%s: cannot open",
				       o->path);
	if (fstat(o->fd, &st) < 0 || !S_ISREG(st.st_mode))
		return vmc_error_set(o->err, EINVAL, "%s: not a regular file",
				     o->path);
	o->file_size = (uint64_t)st.st_size;
	return 0;
}

int vmc_ova_members(struct vmc_ova *o)
{
	struct archive *a;
	struct archive_entry *e;
	int r = -1, ar;

	if (open_ova(o) < 0)
		return -1;
	a = archive_read_new();
	if (!a)
		return vmc_error_set(o->err, ENOMEM, "out of memory");
	archive_read_support_format_tar(a);
	if (archive_read_open_fd(a, o->fd, 1 << 20) != ARCHIVE_OK) {
		vmc_error_set(o->err, EINVAL, "%s: not an OVA (tar) archive:"
			      " %s", o->path, archive_error_string(a));
		goto out;
	}
	while ((ar = archive_read_next_header(a, &e)) == ARCHIVE_OK)
		if (one_member(o, a, e) < 0)
			goto out;
	if (ar != ARCHIVE_EOF) {
		damaged(o, a);
		goto out;
	}
	r = 0;
out:
	archive_read_free(a);
	return r;
}

int vmc_ova_member_digest(struct vmc_ova *o, struct vmc_ova_member *m)
{
	struct vmc_digester *g;
	uint8_t *buf;
	uint64_t done = 0;
	int r = 0;

	if (m->digested)
		return 0;
	g = vmc_digester_new();
	buf = malloc(BUF);
	if (!g || !buf) {
		free(buf);
		if (g)
			vmc_digester_final(g, &m->d);
		return vmc_error_set(o->err, ENOMEM, "out of memory");
	}
	while (r == 0 && done < m->size) {
		size_t n = (size_t)VMC_MIN((uint64_t)BUF, m->size - done);

		r = vmc_pread_full(o->fd, buf, n, m->off + done, o->path,
				   o->err);
		vmc_digester_update(g, buf, n);
		done += n;
	}
	vmc_digester_final(g, &m->d);
	free(buf);
	if (r < 0)
		vmc_error_prefix(o->err, "member '%s'", m->name);
	m->digested = r == 0;
	return r;
}
