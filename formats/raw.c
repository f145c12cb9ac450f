/* raw: the disk's bytes as they are, sparse-aware.
 * Holes are found with lseek(SEEK_DATA/SEEK_HOLE); zeros are written by
 * punching holes (fallocate), or not at all into a fresh file.
 * preallocation (qemu's block/file-posix.c): falloc reserves every block
 * with fallocate (unwritten extents, read as zeros); full also writes the
 * zeros, so every block is written data; zeros written later keep the
 * blocks (no hole punching) in both.
 * Copy offload: data extents of a source stored plain in a file (raw,
 * qcow2's uncompressed clusters) are copied in the kernel with
 * copy_file_range (a reflink or server-side copy where the file system
 * has one), falling back on read and write when the kernel refuses the
 * pair of files (EXDEV, EOPNOTSUPP, EINVAL, ENOSYS). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vmconv/image.h>
#include <vmconv/output.h>

#include "common/confine.h"

#include "formats/registry.h"

struct raw_state {
	int fd;
	bool own_fd;		/* false when the output owns it */
	bool no_seek_data;	/* the file system cannot tell holes */
	bool no_copy_range;	/* copy_file_range refused: copy by hand */
	enum { PREALLOC_OFF, PREALLOC_FALLOC, PREALLOC_FULL } prealloc;
};

static const char zero_block[65536];

/* Write len zero bytes at off as data. */
static int write_zeros(int fd, uint64_t off, uint64_t len,
		       const char *filename, struct vmc_error *err)
{
	while (len > 0) {
		size_t n = len < sizeof(zero_block) ? (size_t)len :
			   sizeof(zero_block);

		if (vmc_pwrite_full(fd, zero_block, n, off, filename, err) < 0)
			return -1;
		off += n;
		len -= n;
	}
	return 0;
}

static int raw_probe(const uint8_t *buf, size_t len, const char *filename)
{
	(void)buf; (void)len; (void)filename;
	return 1;
}

static int file_size(int fd, const char *path, uint64_t *size,
		     struct vmc_error *err)
{
	struct stat st;

	if (vmc_file_fstat(fd, &st) < 0)
		return vmc_error_errno(err, errno, "%s: cannot stat", path);
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, size) < 0)
			return vmc_error_errno(err, errno,
				"%s: cannot get block device size", path);
		return 0;
	}
	if (!S_ISREG(st.st_mode))
		return vmc_error_set(err, EINVAL,
			"%s: not a regular file or block device", path);
	*size = (uint64_t)st.st_size;
	return 0;
}

static int raw_open(struct vmc_image *img, const char *filename,
		    struct vmc_opts *opts, struct vmc_error *err)
{
	struct raw_state *s = calloc(1, sizeof(*s));
	int flags = (img->flags & VMC_OPEN_RDWR) ? O_RDWR : O_RDONLY;

	(void)opts;
	if (!s)
		return vmc_error_set(err, ENOMEM, "out of memory");
	s->fd = vmc_confine_open(filename, flags, true, err);
	if (s->fd < 0) {
		free(s);
		return -1;
	}
	s->own_fd = true;
	if (file_size(s->fd, filename, &img->size, err) < 0) {
		vmc_file_close(s->fd);
		free(s);
		return -1;
	}
	img->opaque = s;
	return 0;
}

static void raw_close(struct vmc_image *img)
{
	struct raw_state *s = img->opaque;

	if (s && s->own_fd)
		vmc_file_close(s->fd);
	free(s);
}

static int raw_pread(struct vmc_image *img, void *buf, size_t len,
		     uint64_t off, struct vmc_error *err)
{
	struct raw_state *s = img->opaque;

	return vmc_pread_full(s->fd, buf, len, off, img->filename, err);
}

static int raw_block_status(struct vmc_image *img, uint64_t off,
			    uint64_t max_len, struct vmc_extent *ext,
			    struct vmc_error *err)
{
	struct raw_state *s = img->opaque;
	off_t data, hole;

	*ext = (struct vmc_extent){ off, max_len, VMC_EXTENT_DATA };
	if (s->no_seek_data)
		return 0;
	data = vmc_file_lseek(s->fd, (off_t)off, SEEK_DATA);
	if (data < 0) {
		if (errno == ENXIO) {		/* a hole up to the end */
			ext->kind = VMC_EXTENT_ZERO;
			return 0;
		}
		if (errno == EINVAL || errno == EOPNOTSUPP) {
			s->no_seek_data = true;
			return 0;
		}
		return vmc_error_errno(err, errno,
			"%s: SEEK_DATA at offset 0x%" PRIx64 " failed",
			img->filename, off);
	}
	if ((uint64_t)data > off) {
		ext->kind = VMC_EXTENT_ZERO;
		if ((uint64_t)data - off < max_len)
			ext->length = (uint64_t)data - off;
		return 0;
	}
	hole = vmc_file_lseek(s->fd, (off_t)off, SEEK_HOLE);
	if (hole < 0)
		return vmc_error_errno(err, errno,
			"%s: SEEK_HOLE at offset 0x%" PRIx64 " failed",
			img->filename, off);
	if ((uint64_t)hole > off && (uint64_t)hole - off < max_len)
		ext->length = (uint64_t)hole - off;
	return 0;
}

static int raw_host_extent(struct vmc_image *img, uint64_t off,
			   uint64_t len, struct vmc_host_extent *h,
			   struct vmc_error *err)
{
	struct raw_state *s = img->opaque;

	(void)err;
	*h = (struct vmc_host_extent){ s->fd, off, len };
	return 1;
}

#define COPY_BOUNCE (1u << 20)

/* The fallback: read and write through a bounce buffer. */
static int copy_by_hand(struct vmc_image *img, uint64_t off, int fd,
			uint64_t foff, uint64_t len, struct vmc_error *err)
{
	struct raw_state *s = img->opaque;
	uint8_t *b = malloc(COPY_BOUNCE);
	int r = 0;

	if (!b)
		return vmc_error_set(err, ENOMEM, "out of memory");
	while (len > 0 && r == 0) {
		size_t n = len < COPY_BOUNCE ? (size_t)len : COPY_BOUNCE;

		r = vmc_pread_full(fd, b, n, foff, img->filename, err);
		if (r == 0)
			r = vmc_pwrite_full(s->fd, b, n, off, img->filename,
					    err);
		off += n;
		foff += n;
		len -= n;
	}
	free(b);
	return r;
}

static bool copy_refused(int e)
{
	return e == EXDEV || e == EOPNOTSUPP || e == EINVAL || e == ENOSYS ||
	       e == EBADF;
}

static int raw_copy_from_fd(struct vmc_image *img, uint64_t off, int fd,
			    uint64_t foff, uint64_t len,
			    struct vmc_error *err)
{
	struct raw_state *s = img->opaque;

	while (len > 0 && !s->no_copy_range) {
		loff_t in = (loff_t)foff, o = (loff_t)off;
		size_t n = len < (1u << 30) ? (size_t)len : (1u << 30);
		ssize_t r = copy_file_range(fd, &in, s->fd, &o, n, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && copy_refused(errno)) {
			s->no_copy_range = true;
			break;
		}
		if (r < 0)
			return vmc_error_errno(err, errno,
				"%s: cannot copy %zu bytes to offset 0x%"
				PRIx64, img->filename, n, off);
		if (r == 0)
			return vmc_error_set(err, EIO,
				"%s: source ended before offset 0x%" PRIx64
				" of the copy", img->filename, foff);
		off += (uint64_t)r;
		foff += (uint64_t)r;
		len -= (uint64_t)r;
	}
	return len ? copy_by_hand(img, off, fd, foff, len, err) : 0;
}

static int parse_prealloc(const char *v, const char *filename,
			  struct raw_state *s, struct vmc_error *err)
{
	if (!v || !strcmp(v, "off"))
		s->prealloc = PREALLOC_OFF;
	else if (!strcmp(v, "falloc"))
		s->prealloc = PREALLOC_FALLOC;
	else if (!strcmp(v, "full"))
		s->prealloc = PREALLOC_FULL;
	else
		return vmc_error_set(err, EINVAL,
			"%s: preallocation must be off, falloc or full, not"
			" '%s'", filename, v);
	return 0;
}

static int preallocate(const struct raw_state *s, uint64_t size,
		       const char *filename, struct vmc_error *err)
{
	if (s->prealloc == PREALLOC_OFF || size == 0)
		return 0;
	if (fallocate(s->fd, 0, 0, (off_t)size) < 0)
		return vmc_error_errno(err, errno,
			"%s: cannot preallocate %" PRIu64 " bytes",
			filename, size);
	if (s->prealloc == PREALLOC_FULL)
		return write_zeros(s->fd, 0, size, filename, err);
	return 0;
}

static int raw_create(struct vmc_image *img, const char *filename,
		      uint64_t size, struct vmc_opts *opts,
		      struct vmc_error *err)
{
	struct raw_state st = { 0 }, *s;

	if (parse_prealloc(vmc_opts_get(opts, "preallocation"), filename,
			   &st, err) < 0)
		return -1;
	if (size > INT64_MAX)
		return vmc_error_set(err, EFBIG, "%s: size too large",
				     filename);
	st.fd = vmc_output_open(img->out, filename, err);
	if (st.fd < 0)
		return -1;
	if (ftruncate(st.fd, (off_t)size) < 0)
		return vmc_error_errno(err, errno,
			"%s: cannot set size to %" PRIu64, filename, size);
	if (preallocate(&st, size, filename, err) < 0)
		return -1;
	s = malloc(sizeof(*s));
	if (!s)
		return vmc_error_set(err, ENOMEM, "out of memory");
	*s = st;
	img->opaque = s;
	img->size = size;
	img->zero_init = true;
	return 0;
}

static int raw_pwrite(struct vmc_image *img, const void *buf, size_t len,
		      uint64_t off, struct vmc_error *err)
{
	struct raw_state *s = img->opaque;

	return vmc_pwrite_full(s->fd, buf, len, off, img->filename, err);
}

static int raw_pwrite_zeroes(struct vmc_image *img, uint64_t off,
			     uint64_t len, struct vmc_error *err)
{
	struct raw_state *s = img->opaque;

	if (s->prealloc == PREALLOC_FULL)
		return write_zeros(s->fd, off, len, img->filename, err);
	if (s->prealloc == PREALLOC_OFF &&
	    fallocate(s->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)off, (off_t)len) == 0)
		return 0;
	if (fallocate(s->fd, FALLOC_FL_ZERO_RANGE, (off_t)off,
		      (off_t)len) == 0)
		return 0;
	return write_zeros(s->fd, off, len, img->filename, err);
}

static int raw_flush(struct vmc_image *img, struct vmc_error *err)
{
	struct raw_state *s = img->opaque;

	return vmc_output_datasync(img->out, s->fd, img->filename, err);
}

/* measure: a raw file is as long as the disk (qemu-img says the same for
 * required and fully allocated, holes or not), whatever the
 * preallocation (the option table has vetted it). */
static int raw_measure(struct vmc_image *src, uint64_t size,
		       struct vmc_opts *opts, struct vmc_measure *m,
		       struct vmc_error *err)
{
	(void)src;
	(void)err;
	vmc_opts_get(opts, "preallocation");
	m->required = m->fully_allocated = size;
	return 0;
}

static const char *const raw_prealloc[] = { "off", "falloc", "full", NULL };

static const struct vmc_opt_desc raw_create_opts[] = {
	{ "preallocation", VMC_OPT_STRING, "off",
	  "Preallocation mode", raw_prealloc },
	{ NULL }
};

const struct vmc_driver vmc_raw_driver = {
	.abi_version = VMC_DRIVER_ABI_VERSION,
	.struct_size = sizeof(struct vmc_driver),
	.name = "raw",
	.description = "raw disk image, sparse-aware",
	.extension = "img",
	.probe = raw_probe,
	.open = raw_open,
	.close = raw_close,
	.pread = raw_pread,
	.block_status = raw_block_status,
	.create = raw_create,
	.pwrite = raw_pwrite,
	.pwrite_zeroes = raw_pwrite_zeroes,
	.flush = raw_flush,
	.measure = raw_measure,
	.create_opts = raw_create_opts,
	.thread_model = VMC_THREAD_SERIALIZE_IMAGE,
	.qemu_name = "raw",
	.target_bus = VMC_TARGET_BUS_VIRTIO,
	.host_extent = raw_host_extent,
	.copy_from_fd = raw_copy_from_fd,
};
