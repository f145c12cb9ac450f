/* qcow2 driver internals shared by qcow2*.c.
 * Layout and field meanings: qemu docs/interop/qcow2.txt. */
#ifndef VMC_FORMATS_QCOW2_H
#define VMC_FORMATS_QCOW2_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <vmconv/check.h>
#include <vmconv/image.h>

#define QCOW2_MAGIC		0x514649fbu	/* "QFI\xfb" */
#define QCOW2_V2_HEADER_LEN	72
#define QCOW2_V3_HEADER_LEN	104
#define QCOW2_MIN_CLUSTER_BITS	9
#define QCOW2_MAX_CLUSTER_BITS	21

/* qemu's own limits, so that no table size read from a file can make us
 * allocate more than qemu would. */
#define QCOW2_MAX_L1_BYTES	(32u << 20)
#define QCOW2_MAX_REFTABLE_BYTES (8u << 20)
#define QCOW2_MAX_SNAPSHOTS	65536
#define QCOW2_MAX_SNAPSHOT_EXTRA 1024
#define QCOW2_MAX_BACKING_NAME	1023
#define QCOW2_MAX_DATA_FILE_NAME 4095

/* Incompatible, compatible and autoclear feature bits. */
#define QCOW2_INCOMPAT_DIRTY		(1ull << 0)
#define QCOW2_INCOMPAT_CORRUPT		(1ull << 1)
#define QCOW2_INCOMPAT_DATA_FILE	(1ull << 2)
#define QCOW2_INCOMPAT_COMPRESSION	(1ull << 3)
#define QCOW2_INCOMPAT_EXTL2		(1ull << 4)
#define QCOW2_INCOMPAT_KNOWN		0x1full
#define QCOW2_COMPAT_LAZY_REFCOUNTS	(1ull << 0)
#define QCOW2_AUTOCLEAR_BITMAPS		(1ull << 0)
#define QCOW2_AUTOCLEAR_DATA_FILE_RAW	(1ull << 1)

/* Header extension types. */
#define QCOW2_EXT_END		0x00000000u
#define QCOW2_EXT_BACKING_FMT	0xe2792acau
#define QCOW2_EXT_FEATURES	0x6803f857u
#define QCOW2_EXT_BITMAPS	0x23852875u
#define QCOW2_EXT_CRYPTO	0x0537be77u
#define QCOW2_EXT_DATA_FILE	0x44415441u

/* L1/L2 entry bits. */
#define QCOW2_OFLAG_COPIED	(1ull << 63)
#define QCOW2_OFLAG_COMPRESSED	(1ull << 62)
#define QCOW2_OFLAG_ZERO	(1ull << 0)
#define QCOW2_OFFSET_MASK	0x00fffffffffffe00ull	/* bits 9..55 */
#define QCOW2_L1_RESERVED	0x7f000000000001ffull
#define QCOW2_REFT_OFFSET_MASK	0xfffffffffffffe00ull

enum qcow2_compression { QCOW2_COMP_ZLIB = 0, QCOW2_COMP_ZSTD = 1 };

/* What inflating one compressed cluster needs: one per thread that
 * inflates at a time (qcow2-compress.c). */
struct qcow2_inflater {
	void *deflate_dctx;	/* libdeflate decompressor, made on first use */
	void *zstd_dctx;
	uint8_t *cbuf;		/* the compressed bytes (two clusters) */
	uint8_t *dbuf;		/* a cluster the caller's buffer cannot hold */
};
/* Inflaters an image keeps for reads outside its lock (each up to three
 * clusters of memory, made when first needed). */
#define QCOW2_INFLATERS 8

/* What a run of guest bytes maps to in one layer. */
enum qcow2_kind {
	QCOW2_UNALLOCATED,	/* ask the backing file */
	QCOW2_ZERO,		/* reads as zeros, hides the backing file */
	QCOW2_NORMAL,		/* host bytes at host */
	QCOW2_COMPRESSED,	/* one compressed cluster */
};

struct qcow2_map {
	enum qcow2_kind kind;
	uint64_t length;	/* guest bytes from the queried offset */
	uint64_t host;		/* NORMAL: host offset of the first byte;
				 * COMPRESSED: the L2 entry */
};

struct qcow2_snapshot {
	uint64_t l1_offset;
	uint32_t l1_size;
	char *id, *name;
	uint32_t date_sec, date_nsec;
	uint64_t vm_clock_nsec;
	uint64_t vm_state_size;
	uint64_t disk_size;
	uint64_t icount;
	bool has_disk_size, has_icount;
};

/* Direct-mapped write-back cache of cluster-sized tables (L2 tables or
 * refcount blocks), keyed by table index. */
struct qcow2_cache {
	size_t n;
	uint64_t *key;		/* table index + 1; 0 = empty */
	uint64_t *host;		/* host offset of the table */
	bool *dirty;
	uint8_t *data;		/* n * table bytes */
};

struct qcow2_state {
	int fd;			/* image file */
	int data_fd;		/* external data file, or fd */
	bool own_fd, own_data_fd;
	char *data_path;	/* resolved external data file */
	uint64_t file_size;
	uint64_t data_file_size;

	uint32_t version;
	unsigned cluster_bits;
	uint64_t cluster_size;
	unsigned l2_bits;	/* log2 of entries per L2 table */
	unsigned l2_entry_size;	/* 8, or 16 with extended L2 */
	bool extended_l2;
	unsigned sc_bits;	/* log2 of the subcluster size */
	uint64_t incompat, compat, autoclear;
	uint32_t header_length;
	unsigned compression;
	int comp_level;		/* -o compression_level; 0 = default */
	unsigned refcount_order;
	unsigned refcount_bits;
	unsigned rc_block_bits;	/* log2 of refcounts per block */
	unsigned csize_shift;
	uint64_t csize_mask, coffset_mask;

	/* Active L1 (or the chosen snapshot's). */
	uint64_t *l1;
	uint32_t l1_size;
	uint64_t l1_offset;
	uint64_t header_l1_offset;	/* the active one, for check */
	uint32_t header_l1_size;
	uint64_t virtual_size;		/* from the header */

	uint64_t *reftable;	/* in memory, entries */
	uint64_t reftable_n;	/* entries in memory */
	uint64_t reftable_offset;
	uint32_t reftable_clusters;

	uint32_t nb_snapshots;
	uint64_t snapshots_offset;
	uint64_t snapshots_bytes;
	struct qcow2_snapshot *snaps;
	int snapshot;		/* -1: active state */

	char *backing_name, *backing_fmt;
	struct vmc_image *backing;
	char *data_file_name;
	bool has_bitmaps;
	uint64_t bitmap_dir_offset, bitmap_dir_size;
	uint32_t nb_bitmaps;

	pthread_mutex_t lock;
	struct qcow2_cache l2c;
	struct qcow2_cache rbc;
	/* Last decompressed cluster. */
	uint8_t *cbuf, *dbuf;
	uint64_t dbuf_entry;
	bool dbuf_valid;
	struct qcow2_inflater inf;	/* for s->cbuf and s->dbuf */
	/* Idle inflaters for whole-cluster reads (under lock). */
	struct qcow2_inflater *idle[QCOW2_INFLATERS];
	unsigned n_idle, n_made;

	/* Writing (create, or check --repair). */
	bool writable;
	bool creating;
	bool in_place;		/* rebase: data written into an existing
				 * image without snapshots */
	bool editing;		/* qcow2-inplace.c: a moved refcount table's
				 * old clusters are freed after the header
				 * names the new one */
	uint64_t old_reftable;
	uint32_t old_reftable_clusters;
	uint64_t tail;		/* first unused host cluster index */
	uint64_t free_byte;	/* next byte for packed compressed data, 0 */
	bool l1_dirty;
	bool header_dirty;
	uint8_t *zero_cluster;
};

/* qcow2.c */
int qcow2_parse_header(struct vmc_image *img, struct qcow2_state *s,
		       const uint8_t *hdr, size_t len, struct vmc_error *err);
int qcow2_read_l1(struct vmc_image *img, struct qcow2_state *s,
		  uint64_t off, uint32_t n, uint64_t **out,
		  struct vmc_error *err);
void qcow2_state_free(struct qcow2_state *s);

/* qcow2-cluster.c: caches */
int qcow2_cache_init(struct qcow2_cache *c, size_t n, uint64_t bytes);
void qcow2_cache_free(struct qcow2_cache *c);

/* qcow2-cluster.c */
int qcow2_l2_get(struct vmc_image *img, struct qcow2_state *s,
		 uint64_t l2_off, uint64_t l1_index, uint8_t **table,
		 struct vmc_error *err);
int qcow2_map(struct vmc_image *img, struct qcow2_state *s, uint64_t off,
	      uint64_t max, struct qcow2_map *m, struct vmc_error *err);
int qcow2_read_compressed(struct vmc_image *img, struct qcow2_state *s,
			  uint64_t entry, uint8_t **cluster,
			  struct vmc_error *err);
int qcow2_fetch_compressed(struct vmc_image *img, struct qcow2_state *s,
			   uint64_t entry, uint8_t *cbuf, uint64_t *coff,
			   uint64_t *csize, struct vmc_error *err);
int qcow2_inflate_cluster(struct vmc_image *img, struct qcow2_state *s,
			  struct qcow2_inflater *d, const uint8_t *cbuf,
			  uint64_t coff, uint64_t csize, uint8_t *out,
			  struct vmc_error *err);
void qcow2_parse_compressed(const struct qcow2_state *s, uint64_t entry,
			    uint64_t *coffset, uint64_t *csize);
uint64_t qcow2_l2_entry(const struct qcow2_state *s, const uint8_t *t,
			uint64_t i);
uint64_t qcow2_l2_bitmap(const struct qcow2_state *s, const uint8_t *t,
			 uint64_t i);
int qcow2_cache_flush(struct vmc_image *img, struct qcow2_state *s,
		      struct qcow2_cache *c, struct vmc_error *err);
void qcow2_cache_mark_dirty(struct qcow2_state *s, struct qcow2_cache *c,
			    const uint8_t *data);
int qcow2_l2_new(struct vmc_image *img, struct qcow2_state *s,
		 uint64_t l2_off, uint64_t l1_index, uint8_t **table,
		 struct vmc_error *err);
int qcow2_rb_get(struct vmc_image *img, struct qcow2_state *s,
		 uint64_t block, uint64_t host, bool fresh, uint8_t **data,
		 struct vmc_error *err);

/* qcow2-compress.c */
void qcow2_free_inflater(struct qcow2_state *s);
int qcow2_decompress(struct qcow2_state *s, const uint8_t *in, size_t inlen,
		     uint8_t *out, size_t outlen);
/* The same with inflater d: threads with their own inflate at once. */
int qcow2_inflate(struct qcow2_inflater *d, unsigned type,
		  const uint8_t *in, size_t inlen, uint8_t *out,
		  size_t outlen);
/* An idle inflater of s (with its cbuf), or NULL when QCOW2_INFLATERS
 * are in use or memory is short; put it back with qcow2_inflater_put.
 * Both with s->lock held. */
struct qcow2_inflater *qcow2_inflater_get(struct qcow2_state *s);
void qcow2_inflater_put(struct qcow2_state *s, struct qcow2_inflater *d);
/* libdeflate's level when -o compression_level is not given: smaller
 * output than qemu-img's zlib level 6 (5% on binaries), in a third of
 * its time. */
#define QCOW2_DEFLATE_LEVEL 4
/* The highest -o compression_level of a compression type (zlib: 12,
 * libdeflate's; zstd: 22). */
int qcow2_max_level(unsigned type);
int qcow2_compress_cluster(unsigned type, int level, const void *in,
			   size_t len, size_t cluster_size, void *out,
			   size_t out_cap, size_t *out_len,
			   struct vmc_error *err);

/* qcow2-refcount.c */
uint64_t qcow2_rc_get_entry(const struct qcow2_state *s, const uint8_t *blk,
			    uint64_t i);
void qcow2_rc_set_entry(const struct qcow2_state *s, uint8_t *blk,
			uint64_t i, uint64_t v);
int qcow2_load_reftable(struct vmc_image *img, struct qcow2_state *s,
			struct vmc_error *err);
int qcow2_get_refcount(struct vmc_image *img, struct qcow2_state *s,
		       uint64_t cluster, uint64_t *rc, struct vmc_error *err);
int qcow2_set_refcount(struct vmc_image *img, struct qcow2_state *s,
		       uint64_t cluster, uint64_t rc, struct vmc_error *err);
int qcow2_alloc_clusters(struct vmc_image *img, struct qcow2_state *s,
			 uint64_t n, uint64_t *host, struct vmc_error *err);
int qcow2_alloc_run(struct vmc_image *img, struct qcow2_state *s,
		    uint64_t n, uint64_t *host, uint64_t *got,
		    struct vmc_error *err);
int qcow2_write_reftable(struct vmc_image *img, struct qcow2_state *s,
			 struct vmc_error *err);

/* qcow2-write.c */
/* Read create's -o options into s (version, cluster and refcount sizes,
 * compression); *prealloc is "off" unless given. */
int qcow2_parse_create_opts(struct qcow2_state *s, const char *fn,
			    struct vmc_opts *opts, const char **prealloc,
			    bool *lazy, struct vmc_error *err);
int qcow2_create(struct vmc_image *img, const char *filename, uint64_t size,
		 struct vmc_opts *opts, struct vmc_error *err);
int qcow2_pwrite(struct vmc_image *img, const void *buf, size_t len,
		 uint64_t off, struct vmc_error *err);
int qcow2_pwrite_zeroes(struct vmc_image *img, uint64_t off, uint64_t len,
			struct vmc_error *err);
int qcow2_compress(struct vmc_image *img, uint64_t off, const void *in,
		   size_t len, void *out, size_t out_cap, size_t *out_len,
		   struct vmc_error *err);
int qcow2_pwrite_compressed(struct vmc_image *img, uint64_t off,
			    const void *cdata, size_t clen, size_t len,
			    struct vmc_error *err);
int qcow2_flush(struct vmc_image *img, struct vmc_error *err);

/* qcow2-measure.c */
int qcow2_measure(struct vmc_image *src, uint64_t size, struct vmc_opts *opts,
		  struct vmc_measure *m, struct vmc_error *err);
/* A header extension (type, length, data padded to 8 bytes) at *p of a
 * header buffer of cap bytes; -1 when it does not fit. */
int qcow2_put_ext(uint8_t *h, size_t cap, size_t *p, uint32_t type,
		  const void *data, uint32_t len);
/* The file extended to every allocated cluster (s->tail). */
int qcow2_extend_to_tail(struct vmc_image *img, struct qcow2_state *s,
			 struct vmc_error *err);
int qcow2_write_header(struct vmc_image *img, struct qcow2_state *s,
		       struct vmc_error *err);
int qcow2_writeback(struct vmc_image *img, struct qcow2_state *s,
		    struct vmc_error *err);

/* qcow2-snapshot.c */
int qcow2_read_snapshots(struct vmc_image *img, struct qcow2_state *s,
			 struct vmc_error *err);
int qcow2_find_snapshot(const struct qcow2_state *s, const char *name);

/* qcow2-bitmap.c: the bitmap list for info, or NULL */
json_t *qcow2_bitmaps_json(struct vmc_image *img, struct qcow2_state *s);

/* qcow2-check.c */
int qcow2_check(struct vmc_image *img, struct vmc_check_result *res,
		bool repair, struct vmc_error *err);

#endif
