/* vmconv images and format drivers.
 *
 * A format is a table of callbacks (struct vmc_driver), modelled on QEMU's
 * BlockDriver and nbdkit's plugin struct.  Built-in drivers are listed in
 * formats/registry.c; external ones are shared objects loaded from the
 * plugin folder (see include/vmconv/plugin.h).
 *
 * Offsets and sizes are bytes of the guest-visible disk ("virtual" offsets)
 * unless a name says otherwise.  Every callback that can fail returns 0 or
 * -1 and fills err with "FILE: what is wrong (where)".
 */
#ifndef VMCONV_IMAGE_H
#define VMCONV_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <vmconv/error.h>
#include <vmconv/io.h>
#include <vmconv/opts.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VMC_DRIVER_ABI_VERSION 1

/* What a run of the guest-visible disk holds. */
enum vmc_extent_kind {
	VMC_EXTENT_DATA = 0,		/* must be read */
	VMC_EXTENT_ZERO = 1,		/* reads as zeros; allocated as zeros */
	VMC_EXTENT_UNALLOCATED = 2,	/* reads as zeros; no layer holds it */
};

struct vmc_extent {
	uint64_t offset;
	uint64_t length;
	enum vmc_extent_kind kind;
};

/* Open flags. */
#define VMC_OPEN_RDWR		0x1	/* only check --repair writes in place */
#define VMC_OPEN_NO_BACKING	0x2	/* do not open backing files / parents */

/* How the callers may call a driver from several threads (nbdkit's
 * thread model).  Whatever the model, calls about one image never come
 * from two threads at once unless the model says so. */
enum vmc_thread_model {
	/* One call at a time among all images of the driver (the default:
	 * a plugin that declares nothing gets it). */
	VMC_THREAD_SERIALIZE_ALL = 0,
	/* Calls on different images may run at once; one image's calls
	 * never overlap. */
	VMC_THREAD_SERIALIZE_IMAGE = 1,
	/* As SERIALIZE_IMAGE, and compress() may also run on several
	 * threads at once, beside the other calls on the same image (the
	 * convert engine's workers). */
	VMC_THREAD_PARALLEL = 2,
	/* As PARALLEL, and pread and block_status may also be called on one
	 * image from several threads at once (the driver serializes what
	 * its images share, parents included): the convert engine's workers
	 * then read the source, so that what a read costs beyond the I/O
	 * (inflating compressed clusters) runs on every core. */
	VMC_THREAD_PARALLEL_READ = 3,
};

/* The disk controller a guest meets on the hypervisor a format is made
 * for (what a migration to it must prepare the guest for). */
enum vmc_target_bus {
	VMC_TARGET_BUS_VIRTIO = 0,	/* KVM: raw, qcow2 */
	VMC_TARGET_BUS_IDE = 1,		/* VMware, Hyper-V, VirtualBox */
};

struct vmc_output;
struct vmc_check_result;
struct vmc_driver;
struct vmc_held_files;

/* Where a run of guest bytes lies, unchanged, in a plain host file (so
 * that a target can copy it in the kernel without reading it). */
struct vmc_host_extent {
	int fd;
	uint64_t offset;		/* of the first byte, in fd */
	uint64_t length;		/* guest bytes from the queried offset */
};

/* What `measure` reports, in qemu-img measure's terms: the bytes of all
 * files of a new image holding the source's data (required) and with
 * every block allocated (fully_allocated). */
struct vmc_measure {
	uint64_t required;
	uint64_t fully_allocated;
	bool has_bitmaps;		/* qcow2 from a qcow2 source */
	uint64_t bitmaps;		/* bytes for bitmaps (vmconv copies
					 * none: 0) */
};

/* One open image.  The generic layer fills drv, filename, flags and out;
 * the driver's open/create sets size (and may set the rest) and keeps its
 * own state in opaque. */
struct vmc_image {
	const struct vmc_driver *drv;
	void *opaque;
	char *filename;
	unsigned flags;
	uint64_t size;			/* virtual size in bytes */

	/* Set by create: every byte of the new image reads as zero, so the
	 * convert engine skips zero runs instead of writing them. */
	bool zero_init;
	/* Set by create: the format can only store compressed units
	 * (VMDK streamOptimized); the engine compresses every data unit. */
	bool compress_always;
	/* Preferred write granularity (cluster / grain / block size); the
	 * engine aligns its chunks to it.  0 means 512. */
	uint32_t granularity;
	/* Unit that compress() takes: exactly this many bytes at an offset
	 * aligned to it (the last unit of the disk may be shorter). */
	uint32_t compress_unit;

	/* For images being created: the set of files written atomically. */
	struct vmc_output *out;

	/* The generic layer's own: the files the image reads from (see
	 * vmc_image_fds); drivers leave it alone. */
	struct vmc_held_files *held;
};

struct vmc_driver {
	/* VMC_DRIVER_ABI_VERSION and sizeof(struct vmc_driver) as the driver
	 * was compiled; the plugin loader copies only struct_size bytes, so
	 * fields are only ever added at the end. */
	uint32_t abi_version;
	uint32_t struct_size;

	const char *name;		/* "qcow2" */
	const char *const *aliases;	/* NULL-terminated, or NULL: "vpc" */
	const char *description;	/* one line for `vmconv formats` */
	const char *extension;		/* default file extension, no dot */

	/* How sure the driver is that the first len bytes of a file are
	 * its format: 0 (no) .. 100 (magic and checksum match).  raw
	 * answers 1 so that it wins only when nothing else does. */
	int (*probe)(const uint8_t *buf, size_t len, const char *filename);

	/* Open filename.  opts holds open-time options (for example
	 * "snapshot=NAME" for qcow2); unknown ones are refused by the caller
	 * after open returns.  Must set img->size. */
	int (*open)(struct vmc_image *img, const char *filename,
		    struct vmc_opts *opts, struct vmc_error *err);

	/* Release everything open or create allocated.  Never fails. */
	void (*close)(struct vmc_image *img);

	/* Read len guest bytes at off; off + len <= img->size (checked by
	 * the caller).  Holes read as zeros. */
	int (*pread)(struct vmc_image *img, void *buf, size_t len,
		     uint64_t off, struct vmc_error *err);

	/* Describe the run starting at off: fill ext with offset = off,
	 * 0 < length <= max_len, and its kind, as seen by the guest through
	 * the whole backing chain.  A driver that cannot tell returns DATA.
	 * NULL means everything is DATA. */
	int (*block_status)(struct vmc_image *img, uint64_t off,
			    uint64_t max_len, struct vmc_extent *ext,
			    struct vmc_error *err);

	/* Writable formats only (NULL otherwise). */

	/* Create a new image of size bytes at filename and leave it open for
	 * writing.  Files must be opened with vmc_output_open() on img->out
	 * (never open()), so that a failed conversion leaves nothing under
	 * the target names.  Unknown opts are refused by the caller. */
	int (*create)(struct vmc_image *img, const char *filename,
		      uint64_t size, struct vmc_opts *opts,
		      struct vmc_error *err);

	/* During convert, writes arrive in increasing offset order, each
	 * byte once, so stream formats may append. */
	int (*pwrite)(struct vmc_image *img, const void *buf, size_t len,
		      uint64_t off, struct vmc_error *err);
	int (*pwrite_zeroes)(struct vmc_image *img, uint64_t off,
			     uint64_t len, struct vmc_error *err);

	/* Optional compressed writes.  compress() is called from several
	 * worker threads at once, for one unit (img->compress_unit bytes at
	 * an aligned offset); it must touch no shared state.  It sets
	 * *out_len = 0 when compression does not pay, and the engine then
	 * calls pwrite() with the plain data.  pwrite_compressed() is called
	 * from one thread in offset order. */
	int (*compress)(struct vmc_image *img, uint64_t off, const void *in,
			size_t len, void *out, size_t out_cap, size_t *out_len,
			struct vmc_error *err);
	int (*pwrite_compressed)(struct vmc_image *img, uint64_t off,
				 const void *cdata, size_t clen, size_t len,
				 struct vmc_error *err);

	/* Write all metadata and make it durable.  After a successful flush
	 * the files are complete images. */
	int (*flush)(struct vmc_image *img, struct vmc_error *err);

	/* Optional: consistency check; with repair (image opened
	 * VMC_OPEN_RDWR) fix what can be fixed in place. */
	int (*check)(struct vmc_image *img, struct vmc_check_result *res,
		     bool repair, struct vmc_error *err);

	/* Optional: add to info what `qemu-img info --output=json` shows,
	 * with qemu-img's names: top-level keys ("cluster-size",
	 * "backing-filename", "backing-filename-format",
	 * "full-backing-filename", "dirty-flag", "snapshots": [{"id",
	 * "name", "vm-state-size", "date-sec", "date-nsec", "vm-clock-sec",
	 * "vm-clock-nsec"}], "actual-size" for multi-file images) and
	 * "format-specific": {"type": NAME, "data": {...}}.  The caller has
	 * set "filename", "format", "virtual-size" and "actual-size". */
	int (*info)(struct vmc_image *img, json_t *obj, struct vmc_error *err);

	/* Optional, writable formats: the sizes of a new image of size bytes
	 * made by create with opts and filled by a conversion of src (NULL:
	 * an empty image, `measure --size`).  Never below what create and
	 * the conversion write; vmc_measure_units() counts src's data.
	 * Unknown opts are refused by the caller. */
	int (*measure)(struct vmc_image *src, uint64_t size,
		       struct vmc_opts *opts, struct vmc_measure *m,
		       struct vmc_error *err);

	/* ---- what the driver is (declarations, not callbacks) ---- */

	/* The options create and measure take, ending with a NULL name;
	 * NULL: none.  vmc_image_create and vmc_image_measure refuse any
	 * other key and any value not of its type or choices, and fill in
	 * the defaults, before the driver sees the list; `vmconv create -f
	 * FMT -o help` prints the table. */
	const struct vmc_opt_desc *create_opts;
	enum vmc_thread_model thread_model;
	/* QEMU's name for the format ("vpc" for vhd), or NULL when QEMU
	 * cannot read it (the validator then exports it to raw). */
	const char *qemu_name;
	enum vmc_target_bus target_bus;

	/* ---- copy offload (optional; added after target_bus) ---- */

	/* Where the first bytes of the data extent [off, off+len) lie as
	 * plain bytes in a host file: 1 with *h filled (a prefix of the
	 * range, length > 0), 0 when they are not stored plain there
	 * (compressed, encrypted, in a parent), -1 on error. */
	int (*host_extent)(struct vmc_image *img, uint64_t off, uint64_t len,
			   struct vmc_host_extent *h, struct vmc_error *err);
	/* Write len bytes at off taken from fd at foff, as pwrite of them
	 * would (copy_file_range where the kernel can, else a copy). */
	int (*copy_from_fd)(struct vmc_image *img, uint64_t off, int fd,
			    uint64_t foff, uint64_t len,
			    struct vmc_error *err);
};

/* ---- generic image API ---- */

/* Open an image read-only (or VMC_OPEN_RDWR), probing its format unless
 * format is given.  opts may be NULL. */
struct vmc_image *vmc_image_open(const char *filename, const char *format,
				 unsigned flags, struct vmc_opts *opts,
				 struct vmc_error *err);

/* Create a new image through out (see output.h); opts may be NULL. */
struct vmc_image *vmc_image_create(const char *filename, const char *format,
				   uint64_t size, struct vmc_opts *opts,
				   struct vmc_output *out,
				   struct vmc_error *err);

void vmc_image_close(struct vmc_image *img);

/* The descriptors an open image reads from (its own file, its backing
 * chain's, data file and extents, as opened while vmc_image_open ran) that
 * still refer to those files: up to max of them into fds.  Returns how
 * many there are.  The VM process keeps these and closes the rest.  A
 * file a driver opens later (a VMDK extent it closed to stay under its
 * limit of open files, then reopened) is not among them. */
size_t vmc_image_fds(const struct vmc_image *img, int *fds, size_t max);

/* Bounds-checked wrappers around the driver callbacks. */
int vmc_image_pread(struct vmc_image *img, void *buf, size_t len,
		    uint64_t off, struct vmc_error *err);
int vmc_image_block_status(struct vmc_image *img, uint64_t off,
			   uint64_t max_len, struct vmc_extent *ext,
			   struct vmc_error *err);
int vmc_image_pwrite(struct vmc_image *img, const void *buf, size_t len,
		     uint64_t off, struct vmc_error *err);
int vmc_image_pwrite_zeroes(struct vmc_image *img, uint64_t off,
			    uint64_t len, struct vmc_error *err);
int vmc_image_flush(struct vmc_image *img, struct vmc_error *err);

/* The allocation-aware read (what conversion, compare and digest share):
 * [off, off+len) of img into buf, walking block_status so that only data
 * runs are read; zero and unallocated runs are zero-filled.  sr may be
 * NULL; else its optional hooks read data runs (instead of
 * vmc_image_pread) and hear of every run once it is in buf, first (when
 * set) is an extent already known at off, and the counts come back. */
struct vmc_sparse_read {
	int (*read)(void *ctx, uint8_t *buf, uint64_t len, uint64_t off,
		    struct vmc_error *err);
	void (*run)(void *ctx, uint64_t off, uint64_t len,
		    enum vmc_extent_kind kind);
	void *ctx;
	const struct vmc_extent *first;
	uint64_t data_bytes, hole_bytes;	/* out */
};
int vmc_image_read_sparse(struct vmc_image *img, void *buf, size_t len,
			  uint64_t off, struct vmc_sparse_read *sr,
			  struct vmc_error *err);

/* Compressed writes (see the driver's compress and pwrite_compressed):
 * whether the format has them, then the same calls, range-checked;
 * ENOTSUP when the format has none. */
bool vmc_image_can_compress(const struct vmc_image *img);
int vmc_image_compress(struct vmc_image *img, uint64_t off, const void *in,
		       size_t len, void *out, size_t out_cap, size_t *out_len,
		       struct vmc_error *err);
int vmc_image_pwrite_compressed(struct vmc_image *img, uint64_t off,
				const void *cdata, size_t clen, size_t len,
				struct vmc_error *err);

/* Copy offload (see the driver's host_extent and copy_from_fd):
 * vmc_image_host_extent answers 0 when the driver has no host_extent;
 * vmc_image_copy_from_fd needs vmc_image_can_copy_from_fd. */
int vmc_image_host_extent(struct vmc_image *img, uint64_t off, uint64_t len,
			  struct vmc_host_extent *h, struct vmc_error *err);
bool vmc_image_can_copy_from_fd(const struct vmc_image *img);
int vmc_image_copy_from_fd(struct vmc_image *img, uint64_t off, int fd,
			   uint64_t foff, uint64_t len,
			   struct vmc_error *err);

/* Fill info with what `qemu-img info --output=json` shows: filename,
 * format, virtual-size, actual-size, then the driver's own keys. */
int vmc_image_info(struct vmc_image *img, json_t *info,
		   struct vmc_error *err);

/* Size in bytes of all files of the image on the host (allocated blocks),
 * or -1 if unknown.  Drivers with several files may override it through
 * info's "actual-size"; this counts the main file. */
int64_t vmc_image_actual_size(struct vmc_image *img);

/* Sizes of an image of format (see struct vmc_driver's measure) holding
 * src's content, or an empty one of size bytes when src is NULL.  Fails
 * with ENOTSUP for formats that cannot be written or measured. */
int vmc_image_measure(const char *format, struct vmc_image *src,
		      uint64_t size, struct vmc_opts *opts,
		      struct vmc_measure *m, struct vmc_error *err);

/* The number of unit-aligned blocks of src that hold data (that a
 * conversion may write); 0 when src is NULL. */
int vmc_measure_units(struct vmc_image *src, uint64_t unit, uint64_t *n,
		      struct vmc_error *err);

/* ---- driver registry ---- */

const struct vmc_driver *vmc_driver_find(const char *name);
size_t vmc_driver_count(void);
const struct vmc_driver *vmc_driver_at(size_t i);

/* A copy of opts (NULL: an empty list) vetted against d's create_opts
 * (vmc_opts_apply, errors prefixed with what) with its defaults filled
 * in: what create and measure get.  A driver without a table gets the
 * plain copy and refuses what it does not read (vmc_opts_check_used).
 * NULL with err set. */
struct vmc_opts *vmc_driver_opts(const struct vmc_driver *d,
				 const struct vmc_opts *opts,
				 const char *what, struct vmc_error *err);

/* The driver that scores highest on the file's first bytes. */
const struct vmc_driver *vmc_driver_probe(const char *filename,
					  struct vmc_error *err);

#ifdef __cplusplus
}
#endif
#endif
