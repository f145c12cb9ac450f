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
};

struct vmc_convert_stats {
	uint64_t virtual_size;
	uint64_t data_bytes;		/* read from the source as data */
	uint64_t zero_bytes;		/* data found to be all zeros */
	uint64_t hole_bytes;		/* zero/unallocated in the source */
	uint64_t written_bytes;		/* guest bytes written as data */
	uint64_t compressed_bytes;	/* bytes after compression */
	uint64_t peak_buffer_bytes;	/* memory held by chunk buffers */
	double seconds;
	bool have_digest;
	unsigned char sha256[32];
	/* Set by vmc_convert_to_file: the target driver's name, and whether
	 * data went compressed (-c, or a format that only stores that). */
	const char *target_format;
	bool compressed;
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

#ifdef __cplusplus
}
#endif
#endif
