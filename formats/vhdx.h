/* VHDX internals shared by the driver's files ([MS-VHDX] v20240423).
 * Everything on disk is little-endian; GUIDs are kept as their 16 on-disk
 * bytes (mixed-endian) and compared with memcmp. */
#ifndef VMC_FORMATS_VHDX_H
#define VMC_FORMATS_VHDX_H

#include <stdbool.h>
#include <stdint.h>

#include <vmconv/check.h>
#include <vmconv/image.h>

#define VHDX_KiB 1024ull
#define VHDX_MiB (1024ull * 1024)
#define VHDX_TiB (1024ull * 1024 * 1024 * 1024)

/* 2.1 file layout */
#define VHDX_FILE_ID_OFF	0
#define VHDX_HEADER1_OFF	(64 * VHDX_KiB)
#define VHDX_HEADER2_OFF	(128 * VHDX_KiB)
#define VHDX_REGION1_OFF	(192 * VHDX_KiB)
#define VHDX_REGION2_OFF	(256 * VHDX_KiB)
#define VHDX_HEADER_SIZE	4096
#define VHDX_REGION_SIZE	(64 * VHDX_KiB)
#define VHDX_REGION_MAX_ENTRIES	2047
#define VHDX_META_TABLE_SIZE	(64 * VHDX_KiB)
#define VHDX_META_MAX_ENTRIES	2047
#define VHDX_META_ITEM_MAX	VHDX_MiB
#define VHDX_LOG_SECTOR		4096
#define VHDX_MAX_DISK_SIZE	(64 * VHDX_TiB)
#define VHDX_MIN_BLOCK		VHDX_MiB
#define VHDX_MAX_BLOCK		(256 * VHDX_MiB)
#define VHDX_BITMAP_BLOCK	VHDX_MiB	/* one sector bitmap block */

/* Caps on what a file may make us allocate. */
#define VHDX_BAT_MAX_BYTES	(1024 * VHDX_MiB)
#define VHDX_LOG_MAX_BYTES	(256 * VHDX_MiB)
/* Every read walks the replayed writes: keep their number sane. */
#define VHDX_LOG_MAX_WRITES	(1u << 17)

/* 2.5.1 BAT entry states */
enum {
	VHDX_PAYLOAD_NOT_PRESENT = 0,
	VHDX_PAYLOAD_UNDEFINED = 1,
	VHDX_PAYLOAD_ZERO = 2,
	VHDX_PAYLOAD_UNMAPPED = 3,
	VHDX_PAYLOAD_FULLY_PRESENT = 6,
	VHDX_PAYLOAD_PARTIALLY_PRESENT = 7,
	VHDX_SB_NOT_PRESENT = 0,
	VHDX_SB_PRESENT = 6,
};
#define VHDX_BAT_STATE(e)	((unsigned)((e) & 7))
#define VHDX_BAT_OFFSET(e)	(((e) >> 20) * VHDX_MiB)
#define VHDX_BAT_ENTRY(state, off) \
	((uint64_t)(state) | (((uint64_t)(off) / VHDX_MiB) << 20))

typedef uint8_t vhdx_guid[16];

/* A GUID written the usual way, as its on-disk bytes. */
#define VHDX_GUID(a, b, c, d0, d1, d2, d3, d4, d5, d6, d7) { \
	(a) & 0xff, ((a) >> 8) & 0xff, ((a) >> 16) & 0xff, ((a) >> 24) & 0xff,\
	(b) & 0xff, ((b) >> 8) & 0xff, (c) & 0xff, ((c) >> 8) & 0xff, \
	d0, d1, d2, d3, d4, d5, d6, d7 }

extern const vhdx_guid vhdx_guid_bat, vhdx_guid_metadata,
	vhdx_guid_file_params, vhdx_guid_disk_size, vhdx_guid_page83,
	vhdx_guid_logical_ss, vhdx_guid_physical_ss, vhdx_guid_parent_loc,
	vhdx_guid_locator_type;

/* 2.2.2 header, decoded */
struct vhdx_header {
	uint32_t checksum;
	uint64_t seq;
	vhdx_guid file_write_guid;
	vhdx_guid data_write_guid;
	vhdx_guid log_guid;
	uint16_t log_version;
	uint16_t version;
	uint32_t log_length;
	uint64_t log_offset;
};

/* One write recorded in the active log sequence, in replay order:
 * 4096 bytes of data, or (data == NULL) len bytes of zeros. */
struct vhdx_log_write {
	uint64_t off;
	uint64_t len;
	uint8_t *data;
};

struct vhdx_log {
	struct vhdx_log_write *w;
	size_t n;
	uint64_t head_seq;		/* of the head entry */
	uint32_t entries;		/* entries in the active sequence */
	uint64_t flushed_file_offset;
	uint64_t last_file_offset;
};

struct vhdx_parent_locator {
	char *parent_linkage;
	char *parent_linkage2;
	char *relative_path;
	char *volume_path;
	char *absolute_win32_path;
};

struct vhdx_state {
	int fd;
	const char *path;		/* img->filename */
	uint64_t phys_size;		/* size of the file on disk */
	uint64_t file_size;		/* after replay (LastFileOffset) */

	struct vhdx_header hdr;		/* the current header */
	int cur_hdr;			/* 0 or 1 */
	const char *hdr_problem[2];	/* why a header is invalid, or NULL */
	char creator[512];		/* UTF-8 from the file identifier */

	uint64_t bat_off, meta_off;
	uint32_t bat_len, meta_len;

	uint32_t block_size;
	bool leave_blocks_allocated;
	bool has_parent;
	uint64_t disk_size;
	uint32_t logical_ss, physical_ss;
	vhdx_guid page83;
	struct vhdx_parent_locator loc;

	uint32_t chunk_ratio;
	uint64_t data_blocks;
	uint64_t bitmap_blocks;
	uint64_t bat_entries;
	uint64_t *bat;

	struct vhdx_log log;
	bool log_dirty;			/* LogGuid was set at open */

	struct vmc_image *parent;
	char *parent_path;

	/* Cache of one sector bitmap block (differencing reads). */
	uint8_t *sb_buf;
	uint64_t sb_chunk;
	bool sb_valid;

	/* Writer state (vhdx-create.c). */
	bool creating;
	bool fixed;
	uint64_t data_start;		/* first payload byte offset */
	uint64_t next_alloc;		/* dynamic: the next block here */
	uint32_t log_size;
};

/* vhdx-header.c */
int vhdx_read_headers(struct vhdx_state *s, struct vmc_error *err);
int vhdx_read_regions(struct vhdx_state *s, struct vmc_error *err);
void vhdx_header_encode(const struct vhdx_header *h, uint8_t buf[4096]);
int vhdx_header_decode(const uint8_t buf[4096], struct vhdx_header *h);
bool vhdx_region_table_valid(uint8_t buf[65536]);
void vhdx_region_table_encode(uint8_t buf[65536], uint64_t bat_off,
			      uint32_t bat_len, uint64_t meta_off,
			      uint32_t meta_len);
int vhdx_write_headers(struct vhdx_state *s, struct vmc_error *err);
void vhdx_guid_random(vhdx_guid g);
void vhdx_guid_format(const vhdx_guid g, char out[39]);
bool vhdx_guid_is_zero(const vhdx_guid g);
/* UTF-16LE (bytes long) to a malloc'd UTF-8 string; NULL on ENOMEM.
 * Unpaired surrogates become U+FFFD; stops at a NUL. */
char *vhdx_utf16le_to_utf8(const uint8_t *p, size_t bytes);

/* vhdx-metadata.c */
int vhdx_read_metadata(struct vhdx_state *s, struct vmc_error *err);
void vhdx_locator_free(struct vhdx_parent_locator *l);

/* vhdx-bat.c: index arithmetic (2.5) and loading */
uint32_t vhdx_chunk_ratio(uint32_t logical_ss, uint32_t block_size);
uint64_t vhdx_payload_index(uint64_t block, uint32_t chunk_ratio);
uint64_t vhdx_bitmap_index(uint64_t chunk, uint32_t chunk_ratio);
uint64_t vhdx_bat_entry_count(uint64_t data_blocks, uint32_t chunk_ratio,
			      bool has_parent);
int vhdx_compute_geometry(struct vhdx_state *s, struct vmc_error *err);
int vhdx_read_bat(struct vhdx_state *s, struct vmc_error *err);

/* vhdx-log.c */
int vhdx_log_load(struct vhdx_state *s, struct vmc_error *err);
int vhdx_log_replay_on_disk(struct vhdx_state *s, struct vmc_error *err);
void vhdx_log_free(struct vhdx_log *log);
/* Parse an active log from an in-memory copy of the log area (also
 * what the unit tests and fuzzer drive). */
int vhdx_log_parse(const uint8_t *logbuf, uint32_t log_len,
		   const vhdx_guid log_guid, struct vhdx_log *log,
		   const char *path, uint64_t log_off, struct vmc_error *err);

/* vhdx.c: reads of the container file as the log says it should be. */
int vhdx_file_pread(struct vhdx_state *s, void *buf, size_t len,
		    uint64_t off, struct vmc_error *err);

/* vhdx-create.c */
int vhdx_measure(struct vmc_image *src, uint64_t size, struct vmc_opts *opts,
		 struct vmc_measure *m, struct vmc_error *err);
int vhdx_create(struct vmc_image *img, const char *filename, uint64_t size,
		struct vmc_opts *opts, struct vmc_error *err);
int vhdx_pwrite(struct vmc_image *img, const void *buf, size_t len,
		uint64_t off, struct vmc_error *err);
int vhdx_pwrite_zeroes(struct vmc_image *img, uint64_t off, uint64_t len,
		       struct vmc_error *err);
int vhdx_flush(struct vmc_image *img, struct vmc_error *err);

#endif
