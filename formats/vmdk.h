/* Internal interfaces of the VMDK driver (formats/vmdk*.c).
 *
 * VMware "Virtual Disk Format 1.1" (hosted sparse extents, descriptor
 * file, stream-optimized extents), the "Virtual Disk Format 5.0" note
 * (zeroed-grain GTEs) and the ESXi seSparse layout.  All binary fields are
 * little-endian; sizes in the headers are 512-byte sectors.
 */
#ifndef VMC_FORMATS_VMDK_H
#define VMC_FORMATS_VMDK_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vmconv/image.h>

#define VMDK_SECTOR		512u
#define VMDK4_MAGIC		0x564d444bu	/* "KDMV" read as LE32 */
#define VMDK3_MAGIC		0x44574f43u	/* "COWD" read as LE32 */
#define SESPARSE_MAGIC		0xcafebabeull
#define SESPARSE_VOL_MAGIC	0xcafecafeull
#define SESPARSE_VERSION	0x200000001ull

#define VMDK4_FLAG_NL_DETECT	(1u << 0)
#define VMDK4_FLAG_RGD		(1u << 1)
#define VMDK4_FLAG_ZERO_GRAIN	(1u << 2)
#define VMDK4_FLAG_COMPRESS	(1u << 16)
#define VMDK4_FLAG_MARKER	(1u << 17)
#define VMDK4_GD_AT_END		0xffffffffffffffffull
#define VMDK4_COMPRESS_DEFLATE	1

#define VMDK_MARKER_EOS		0
#define VMDK_MARKER_GT		1
#define VMDK_MARKER_GD		2
#define VMDK_MARKER_FOOTER	3

/* A CID of ffffffff in parentCID means "no parent". */
#define VMDK_CID_NONE		0xffffffffu

/* Bounds on what a file may ask us to hold in memory or walk. */
#define VMDK_DESC_MAX		(1u << 20)	/* descriptor bytes */
#define VMDK_DESC_LINE_MAX	8192u		/* one descriptor line */
#define VMDK_MAX_EXTENTS	65536u
#define VMDK_MAX_GD_ENTRIES	(4u << 20)
#define VMDK_MAX_GTES		65536u
#define VMDK_MAX_GRAIN_SECTORS	2048u		/* 1 MiB grains */
#define VMDK_GT_CACHE		16

/* ---- descriptor (vmdk-descriptor.c) ---- */

enum vmdk_access { VMDK_RW, VMDK_RDONLY, VMDK_NOACCESS };

enum vmdk_ext_type {
	VMDK_EXT_FLAT,
	VMDK_EXT_SPARSE,
	VMDK_EXT_ZERO,
	VMDK_EXT_VMFS,
	VMDK_EXT_VMFSSPARSE,
	VMDK_EXT_SESPARSE,
	VMDK_EXT_VMFSRDM,
	VMDK_EXT_VMFSRAW,
};

struct vmdk_desc_extent {
	enum vmdk_access access;
	uint64_t sectors;
	enum vmdk_ext_type type;
	char *file;			/* NULL for ZERO without a name */
	uint64_t offset;		/* sectors into the file (flat) */
};

struct vmdk_kv {
	char *key;
	char *value;			/* unquoted */
};

struct vmdk_desc {
	unsigned version;
	uint32_t cid, parent_cid;
	bool have_cid, have_parent_cid;
	char *encoding;			/* as written, or NULL */
	char *create_type;
	char *parent_hint;		/* parentFileNameHint */
	struct vmdk_desc_extent *ext;
	size_t n_ext;
	struct vmdk_kv *kv;		/* every key = value line, ddb too */
	size_t n_kv;
};

/* Parse descriptor text (len bytes, need not be NUL-terminated; a NUL
 * ends it early, as in an embedded descriptor's padding).  name is used
 * in messages.  windows-1252 text is converted to UTF-8 first. */
int vmdk_desc_parse(struct vmdk_desc *d, const char *text, size_t len,
		    const char *name, struct vmc_error *err);
void vmdk_desc_free(struct vmdk_desc *d);
/* The value of key (case-insensitive), or NULL. */
const char *vmdk_desc_get(const struct vmdk_desc *d, const char *key);
const char *vmdk_ext_type_name(enum vmdk_ext_type t);
const char *vmdk_access_name(enum vmdk_access a);

/* What a descriptor written by vmconv says. */
struct vmdk_desc_out {
	uint32_t cid;
	const char *create_type;
	const char *adapter;		/* ide, lsilogic, buslogic, ... */
	unsigned hwversion;
	uint64_t sectors;		/* whole disk */
	const struct vmdk_desc_extent *ext;
	size_t n_ext;
	const uint8_t *uuid;		/* 16 bytes */
	uint32_t parent_cid;		/* VMDK_CID_NONE: no parent */
	const char *parent_hint;	/* parentFileNameHint or NULL */
	bool thin;			/* ddb.thinProvisioned */
};

/* Format a descriptor the way VMware's tools lay it out; returns a
 * malloc'd NUL-terminated string or NULL (ENOMEM). */
char *vmdk_desc_format(const struct vmdk_desc_out *o);

/* ---- open image (vmdk.c, vmdk-sparse.c, vmdk-sesparse.c) ---- */

enum vmdk_kind {
	VMDK_K_FLAT,		/* bytes at flat_off in the file */
	VMDK_K_ZERO,		/* ZERO extent: reads as zeros */
	VMDK_K_SPARSE,		/* hosted sparse / stream (KDMV) */
	VMDK_K_COWD,		/* ESX 2/3 vmfsSparse (COWD) */
	VMDK_K_SESPARSE,	/* ESXi seSparse */
	VMDK_K_NOACCESS,	/* NOACCESS extent */
};

struct vmdk_extent {
	enum vmdk_kind kind;
	enum vmdk_ext_type dtype;	/* the descriptor's type */
	enum vmdk_access access;
	uint64_t start, len;		/* guest bytes */
	char *name;			/* as in the descriptor */
	char *path;			/* resolved */
	int fd;				/* -1 while closed: vmdk_ext_fd */
	bool own;			/* the image's own file, not a named one */
	struct vmdk_state *st;
	uint64_t last_use;
	uint64_t file_size;
	uint64_t flat_off;		/* bytes */

	/* sparse kinds */
	unsigned version;
	uint32_t flags;
	uint64_t grain;			/* bytes */
	uint32_t gtes;			/* entries per grain table */
	uint32_t gte_bytes;		/* 4, or 8 for seSparse */
	uint64_t n_gd;
	uint64_t *gd;			/* grain table offsets; 0 none */
	uint64_t capacity;		/* bytes the header covers */
	uint64_t grains_off;		/* seSparse: grain area, bytes */
	uint64_t se_gt_count;		/* seSparse: tables in GT area */
	uint64_t rgd_off;		/* redundant GD; 0 none */
	bool compressed, markers, zero_grain;

	uint64_t gt_off[VMDK_GT_CACHE];
	void *gt[VMDK_GT_CACHE];
	unsigned gt_next;
};

#define VMDK_INFLATERS 8
struct vmdk_state {
	struct vmdk_desc desc;
	struct vmdk_extent *ext;
	size_t n_ext;
	bool embedded;			/* descriptor in the extent */
	struct vmc_image *parent;
	char *parent_path;
	/* Opened without parents (info): why parent_path failed the
	 * parent policy, or NULL. */
	char *parent_refusal;
	pthread_mutex_t lock;		/* grain table caches */
	uint64_t max_grain;
	uint8_t *cbuf;			/* the last inflated grain */
	struct inflate_state *inflate;
	/* Idle inflate states for whole grains read outside the lock
	 * (each 85 KiB: made once, not per grain). */
	struct inflate_state *idle[VMDK_INFLATERS];
	unsigned n_idle;
	struct vmdk_extent *cbuf_ext;
	uint64_t cbuf_grain;
	struct vmdk_writer *w;		/* create only */
	unsigned n_open;		/* extent descriptors open */
	unsigned max_open;
	uint64_t tick;
};

/* Extent files stay open up to this many (or a quarter of the process's
 * descriptor limit, if lower); beyond, the least recently used are
 * closed and reopened on demand, so a split disk of thousands of extents
 * fits in the limit. */
#define VMDK_MAX_OPEN_FDS	256

/* The extent's descriptor, reopened if it was closed (call with the
 * state's lock held, or during open). */
int vmdk_ext_fd(struct vmdk_extent *e, struct vmc_error *err);

/* What a guest run maps to, from a sparse extent's tables. */
enum vmdk_map_kind { VMDK_MAP_DATA, VMDK_MAP_COMPRESSED, VMDK_MAP_ZERO,
		     VMDK_MAP_UNALLOC };

/* Open a sparse-kind extent (e->fd open, e->path set); checks the header
 * against the file and loads the grain directory.  desc_out receives
 * the embedded descriptor (malloc'd, NUL-terminated) when asked and
 * present. */
int vmdk_sparse_open(struct vmdk_extent *e, char **desc_out,
		     struct vmc_error *err);
int vmdk_cowd_open(struct vmdk_extent *e, struct vmc_error *err);
int vmdk_sesparse_open(struct vmdk_extent *e, struct vmc_error *err);
void vmdk_sparse_free(struct vmdk_extent *e);
int vmdk_sparse_load_gd(struct vmdk_extent *e, uint64_t gd_off,
			struct vmc_error *err);
int vmdk_sparse_geometry(struct vmdk_extent *e, uint64_t cap_sectors,
			 uint64_t grain_sectors, uint64_t gtes,
			 struct vmc_error *err);
/* seSparse 64-bit entries: a grain directory entry to a grain table byte
 * offset (0: none), a grain table entry to what the grain holds. */
int vmdk_sesparse_gde(struct vmdk_extent *e, uint64_t v, uint64_t idx,
		      uint64_t *off, struct vmc_error *err);
int vmdk_sesparse_gte(struct vmdk_extent *e, uint64_t v, uint64_t grain,
		      enum vmdk_map_kind *kind, uint64_t *foff,
		      struct vmc_error *err);

/* Where the run of unallocated grains (entry 0) that rel's grain starts
 * ends, within its grain table (its end, if all the rest are 0; a grain
 * table that does not exist, whole): *end = rel when rel's grain is
 * allocated, or for seSparse extents, which are walked grain by grain.
 * An allocated table of zeros (qemu-img and VMware preallocate them)
 * is then skipped in one scan, not one lookup per grain. */
int vmdk_unalloc_end(struct vmdk_extent *e, uint64_t rel, uint64_t *end,
		     struct vmc_error *err);

/* Look up the grain holding extent-relative byte rel: *kind, and for
 * DATA/COMPRESSED *foff (file byte offset of the grain or its marker). */
int vmdk_sparse_lookup(struct vmdk_extent *e, uint64_t rel,
		       enum vmdk_map_kind *kind, uint64_t *foff,
		       struct vmc_error *err);

/* Read one compressed grain (marker at foff) into grain-sized out,
 * using st (ISA-L's inflate state) as scratch. */
struct inflate_state;
int vmdk_read_compressed(struct vmdk_extent *e, uint64_t foff,
			 uint64_t rel_grain, uint8_t *out,
			 struct inflate_state *st, struct vmc_error *err);
/* The same in two steps, so that only the first needs the lock. */
int vmdk_fetch_grain(struct vmdk_extent *e, uint64_t foff,
		     uint64_t rel_grain, uint8_t **cdata, uint64_t *clen,
		     uint64_t *at, struct vmc_error *err);
int vmdk_inflate_grain(struct vmdk_extent *e, uint64_t at,
		       const uint8_t *cdata, uint64_t clen, uint8_t *out,
		       struct inflate_state *st, struct vmc_error *err);

struct vmc_check_result;
int vmdk_check(struct vmc_image *img, struct vmc_check_result *res,
	       bool repair, struct vmc_error *err);

/* ---- writing (vmdk-create.c, vmdk-stream.c) ---- */

/* The create (and measure) options, see struct vmc_driver. */
extern const struct vmc_opt_desc vmdk_create_opts[];
int vmdk_measure(struct vmc_image *src, uint64_t size, struct vmc_opts *opts,
		 struct vmc_measure *m, struct vmc_error *err);
int vmdk_create(struct vmc_image *img, const char *filename, uint64_t size,
		struct vmc_opts *opts, struct vmc_error *err);
int vmdk_write(struct vmc_image *img, const void *buf, size_t len,
	       uint64_t off, struct vmc_error *err);
int vmdk_write_zeroes(struct vmc_image *img, uint64_t off, uint64_t len,
		      struct vmc_error *err);
int vmdk_write_flush(struct vmc_image *img, struct vmc_error *err);
void vmdk_writer_free(struct vmdk_writer *w);

int vmdk_stream_compress(struct vmc_image *img, uint64_t off,
			 const void *in, size_t len, void *out,
			 size_t out_cap, size_t *out_len,
			 struct vmc_error *err);
int vmdk_stream_write_compressed(struct vmc_image *img, uint64_t off,
				 const void *cdata, size_t clen, size_t len,
				 struct vmc_error *err);

/* Internal to the writer files. */
struct vmdk_stream;
struct vmdk_stream *vmdk_stream_new(int fd, const char *path,
				    uint64_t capacity, const char *desc,
				    struct vmc_error *err);
int vmdk_stream_grain(struct vmdk_stream *s, uint64_t off,
		      const void *cdata, size_t clen, struct vmc_error *err);
int vmdk_stream_finish(struct vmdk_stream *s, struct vmc_error *err);
void vmdk_stream_free(struct vmdk_stream *s);
/* Deflate len bytes as one zlib stream into out (cap bytes); *olen = 0
 * when it does not fit. */
size_t vmdk_deflate_bound(size_t len);
int vmdk_deflate(const void *in, size_t len, void *out, size_t cap,
		 size_t *olen);

/* Fill the 512-byte hosted sparse header. */
struct vmdk4_header {
	unsigned version;
	uint32_t flags;
	uint64_t capacity, grain, desc_off, desc_size;
	uint32_t gtes;
	uint64_t rgd_off, gd_off, overhead;
	uint16_t compress;
};
void vmdk4_header_put(uint8_t *sec, const struct vmdk4_header *h);

#endif
