/* vmconv conversion engine.
 *
 * Walks the source by extents (block_status), never reads holes, reads data
 * in large chunks, finds all-zero blocks, optionally compresses, and writes
 * in offset order.  A reader thread, a bounded pool of worker threads
 * (zero detection, compression) and the writing thread overlap; memory is
 * bounded by the number of chunk buffers, not by the image size.
 */
#ifndef VMCONV_CONVERT_H
#define VMCONV_CONVERT_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include <vmconv/image.h>

#ifdef __cplusplus
extern "C" {
#endif

enum vmc_cache_mode {
	VMC_CACHE_WRITEBACK = 0,
	VMC_CACHE_UNSAFE = 1,
};

struct vmc_convert_params {
	struct vmc_image *src;
	struct vmc_image *dst;
	bool compress;			/* -c: compressed units where the
					 * target supports them */
	bool digest;			/* SHA-256 of the guest content */
	unsigned threads;		/* workers; 0 = number of CPUs */
	size_t chunk_size;		/* bytes per buffer; 0 = 2 MiB */
	unsigned buffers;		/* buffers in flight; 0 = 2*threads+2 */
	/* Called from the writing thread after each chunk. */
	void (*progress)(void *ctx, uint64_t done, uint64_t total);
	void *progress_ctx;
	/* Checked between chunks; non-zero stops with ECANCELED. */
	volatile sig_atomic_t *cancel;
	/* vmc_convert_to_file: called with the finished temporary file
	 * before it is renamed into place (driver injection edits it
	 * there); -1 abandons it.  NULL: none. */
	int (*before_commit)(void *ctx, const char *tmp_path,
			     struct vmc_error *err);
	void *commit_ctx;
	/* vmc_convert_to_file: path may be the source itself, which is then
	 * replaced by the new file (vmconv inject rewrites an image so). */
	bool replace_source;

	/* qemu-img convert -S: allocate_all (-S 0) writes every byte, zeros
	 * and holes included, as data; otherwise sparse_size (a multiple of
	 * 512; 0 = the target's granularity, at least 4 KiB) is the unit of
	 * zero detection: an all-zero unit is left sparse. */
	bool allocate_all;
	size_t sparse_size;
	/* qemu-img convert -C: data extents the source holds plain in a
	 * file are copied by the target in the kernel (copy_file_range) when
	 * it can and nothing needs the bytes (no compress, digest, salvage,
	 * allocate_all or sparse_size); zeros among them are copied as data,
	 * not found by zero detection. */
	bool copy_offload;
	/* -r: at most this many bytes a second are read (0: no limit). */
	uint64_t rate_limit;
	/* --salvage: a source range that cannot be read is written as zeros
	 * and reported through read_error (from the reading thread), and
	 * the conversion goes on. */
	bool salvage;
	void (*read_error)(void *ctx, uint64_t off, uint64_t len,
			   const struct vmc_error *err);
	void *read_error_ctx;
	/* qemu-img -t: VMC_CACHE_WRITEBACK (default: write-back started
	 * while converting, everything flushed before the rename) or
	 * VMC_CACHE_UNSAFE (nothing flushed). */
	enum vmc_cache_mode cache;
};

struct vmc_convert_stats {
	uint64_t virtual_size;
	uint64_t data_bytes;		/* read from the source as data */
	uint64_t zero_bytes;		/* data found to be all zeros */
	uint64_t hole_bytes;		/* zero/unallocated in the source */
	uint64_t written_bytes;		/* guest bytes written as data */
	uint64_t compressed_bytes;	/* bytes after compression */
	uint64_t peak_buffer_bytes;	/* memory held by chunk buffers */
	uint64_t salvaged_bytes;	/* unreadable, written as zeros */
	double seconds;
	bool have_digest;
	unsigned char sha256[32];
	/* Set by vmc_convert_to_file: the target driver's name, and whether
	 * data went compressed (-c, or a format that only stores that). */
	const char *target_format;
	bool compressed;
	bool durable;			/* flushed to the disk (not -t unsafe) */
};

int vmc_convert_run(const struct vmc_convert_params *p,
		    struct vmc_convert_stats *st, struct vmc_error *err);

/* Convert p->src (p->dst is ignored) into a new image of format at path,
 * created with create_opts (may be NULL): written to a temporary file
 * beside path and renamed into place only after the conversion and the
 * flush succeeded; stale temporaries of dead processes are removed first.
 * Fails with EINVAL when path is the source itself. */
int vmc_convert_to_file(const struct vmc_convert_params *p,
			const char *path, const char *format,
			struct vmc_opts *create_opts,
			struct vmc_convert_stats *st, struct vmc_error *err);

/* len bytes of base from offset off as an image of their own (read-only;
 * base must stay open while it is used).  Close with vmc_image_close. */
struct vmc_image *vmc_image_window(struct vmc_image *base, uint64_t off,
				   uint64_t len, struct vmc_error *err);
/* The summary of a vmc_convert_to_file run, as `vmconv convert
 * --output=json` prints it: source, source-format, target, target-format,
 * virtual-size, data-bytes, zero-bytes, hole-bytes, written-bytes,
 * compressed-bytes (when compressed), seconds, sha256 (with a digest). */
json_t *vmc_convert_summary(const char *src_path, const char *dst_path,
			    struct vmc_image *src,
			    const struct vmc_convert_stats *st);

/* Hex of a SHA-256 (65 bytes with the NUL). */
void vmc_sha256_hex(const unsigned char sha[32], char hex[65]);

/* SHA-256 of the guest-visible content of an image, reading only data
 * extents (holes are hashed as zeros without being read). */
int vmc_image_digest(struct vmc_image *img, unsigned char sha[32],
		     struct vmc_error *err);

/* Compare guest content: *differ = -1 if equal, else the first differing
 * byte offset.  Sizes that differ compare the common part, then the
 * longer image's tail must be zero (qemu-img compare's rule). */
int vmc_image_compare(struct vmc_image *a, struct vmc_image *b,
		      int64_t *differ, struct vmc_error *err);

/* convert -n (convert/into.c): an existing target, locked for the run.
 * raw (file or block device) is written in place; qcow2 is rebuilt with
 * its own parameters and copied over its bytes by vmc_into_finish().
 * Other formats fail with ENOTSUP. */
struct vmc_into;
struct vmc_into *vmc_into_open(const char *path, const char *format,
			       uint64_t src_size, struct vmc_error *err);
/* The same, a qcow2 target rebuilt at new_size bytes (0: its own size)
 * and with no check of its data beyond src_size (resize). */
struct vmc_into *vmc_into_open_sized(const char *path, const char *format,
				     uint64_t src_size, uint64_t new_size,
				     struct vmc_error *err);
/* The image to pass as vmc_convert_params.dst. */
struct vmc_image *vmc_into_image(struct vmc_into *t);
/* After vmc_convert_run: make the target complete and durable. */
int vmc_into_finish(struct vmc_into *t, struct vmc_error *err);
void vmc_into_close(struct vmc_into *t);

/* resize (convert/resize.c): an existing image to new_size bytes, in
 * place and locked.  raw: a regular file is truncated or extended.
 * qcow2 (no backing file, no snapshots): rebuilt at the new size through
 * vmc_into.  Shrinking needs shrink (the data past the end is lost). */
int vmc_image_resize(const char *path, const char *format,
		     uint64_t new_size, bool shrink, struct vmc_error *err);

#ifdef __cplusplus
}
#endif
#endif
