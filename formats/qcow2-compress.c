/* qcow2 compressed clusters: zlib (raw deflate, no zlib header) and zstd
 * (compression type 1).  qemu docs/interop/qcow2.txt, "Compressed
 * Clusters Descriptor" and the compression_type header field.  Deflate
 * is written with libdeflate (at compression_level 1 with ISA-L's igzip,
 * in a 4 KiB window) and inflated with libdeflate (a whole-buffer
 * decoder, two to three times zlib's speed), with zlib as the fallback
 * for a stream libdeflate will not take (one that fills the cluster
 * without a final block, which zlib's streaming inflate accepts).
 *
 * The window of the default -c (decided 2026-12-02): libdeflate (levels
 * 2-12) matches up to 32 KiB back, where qemu deflates with windowBits
 * -12 (4 KiB).  Readers take it: qemu's block/qcow2-threads.c
 * (qcow2_zlib_decompress, read in qemu's tree) points next_out at the
 * whole cluster, calls inflateInit2(-12) and one inflate(Z_FINISH), and
 * zlib checks a distance against its window only for the part of it
 * that reaches before the bytes this call has written (inflate.c and
 * inffast.c: "invalid distance too far back" only when dist exceeds the
 * output so far plus the window it holds), so any distance inside the
 * cluster is valid; systemd's importer (src/import/qcow2-util.c,
 * decompress_cluster) inflates the same way, the whole cluster in one
 * call.  A reader inflating a cluster in pieces through a 4 KiB window
 * would fail (qemu and systemd do not).  Level 1 (igzip) keeps qemu's
 * 4 KiB window.  tests/integration/convert-compress-level.sh proves far
 * distances are present in 2 MiB clusters and that qemu-img convert and
 * check read them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libdeflate.h>
#include <zlib.h>
#include <zstd.h>

#include "common/igzip.h"
#include "common/tls.h"
#include "formats/qcow2.h"

/* -o compression_level=1 with zlib: ISA-L's igzip at its level 1, about
 * twice libdeflate's level 1 a core, at output some 5-7% larger on
 * binaries.  Its window is cut to qemu's 4 KiB (hist_bits 12: qemu's
 * block/qcow2-threads.c deflates and inflates clusters with windowBits
 * -12), so every match distance is one a 4 KiB-window inflate follows. */
#define IGZIP_HIST_BITS 12

static int inflate_raw(const uint8_t *in, size_t inlen, uint8_t *out,
		       size_t outlen)
{
	z_stream z;
	int r;

	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, -15) != Z_OK)
		return -1;
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)inlen;
	z.next_out = out;
	z.avail_out = (uInt)outlen;
	r = inflate(&z, Z_FINISH);
	inflateEnd(&z);
	/* The sector padding after the stream is never reached: the
	 * cluster is complete when the output is full. */
	if ((r == Z_STREAM_END || r == Z_BUF_ERROR || r == Z_OK) &&
	    z.avail_out == 0)
		return 0;
	return -1;
}

static int unzstd(struct qcow2_inflater *d, const uint8_t *in,
		  size_t inlen, uint8_t *out, size_t outlen)
{
	ZSTD_inBuffer ib = { in, inlen, 0 };
	ZSTD_outBuffer ob = { out, outlen, 0 };

	if (!d->zstd_dctx) {
		d->zstd_dctx = ZSTD_createDCtx();
		if (!d->zstd_dctx)
			return -1;
	}
	ZSTD_DCtx_reset(d->zstd_dctx, ZSTD_reset_session_only);
	/* Stop as soon as the cluster is full: the sector padding after
	 * the frame is never parsed. */
	while (ob.pos < ob.size) {
		size_t in0 = ib.pos, out0 = ob.pos;
		size_t r = ZSTD_decompressStream(d->zstd_dctx, &ob, &ib);

		if (ZSTD_isError(r) || (ib.pos == in0 && ob.pos == out0))
			return -1;
	}
	return 0;
}

static void inflater_release(struct qcow2_inflater *d)
{
	if (d->deflate_dctx)
		libdeflate_free_decompressor(d->deflate_dctx);
	ZSTD_freeDCtx(d->zstd_dctx);
	free(d->cbuf);
	free(d->dbuf);
	memset(d, 0, sizeof(*d));
}

void qcow2_free_inflater(struct qcow2_state *s)
{
	s->inf.cbuf = s->inf.dbuf = NULL;	/* s->cbuf, s->dbuf: not ours */
	inflater_release(&s->inf);
	while (s->n_idle > 0) {
		struct qcow2_inflater *d = s->idle[--s->n_idle];

		inflater_release(d);
		free(d);
	}
}

struct qcow2_inflater *qcow2_inflater_get(struct qcow2_state *s)
{
	struct qcow2_inflater *d;

	if (s->n_idle > 0)
		return s->idle[--s->n_idle];
	if (s->n_made == QCOW2_INFLATERS)
		return NULL;
	d = calloc(1, sizeof(*d));
	if (!d || !(d->cbuf = malloc(2 * s->cluster_size))) {
		free(d);
		return NULL;
	}
	s->n_made++;
	return d;
}

void qcow2_inflater_put(struct qcow2_state *s, struct qcow2_inflater *d)
{
	s->idle[s->n_idle++] = d;
}

/* 0 when libdeflate filled the cluster exactly; -1 to try zlib. */
static int inflate_fast(struct qcow2_inflater *d, const uint8_t *in,
			size_t inlen, uint8_t *out, size_t outlen)
{
	size_t in_used, out_got;

	if (!d->deflate_dctx)
		d->deflate_dctx = libdeflate_alloc_decompressor();
	if (!d->deflate_dctx)
		return -1;
	if (libdeflate_deflate_decompress_ex(d->deflate_dctx, in, inlen, out,
					     outlen, &in_used, &out_got) !=
	    LIBDEFLATE_SUCCESS || out_got != outlen)
		return -1;
	return 0;
}

int qcow2_inflate(struct qcow2_inflater *d, unsigned type,
		  const uint8_t *in, size_t inlen, uint8_t *out,
		  size_t outlen)
{
	if (type == QCOW2_COMP_ZSTD)
		return unzstd(d, in, inlen, out, outlen);
	if (inflate_fast(d, in, inlen, out, outlen) == 0)
		return 0;
	return inflate_raw(in, inlen, out, outlen);
}

int qcow2_decompress(struct qcow2_state *s, const uint8_t *in, size_t inlen,
		     uint8_t *out, size_t outlen)
{
	return qcow2_inflate(&s->inf, s->compression, in, inlen, out,
			     outlen);
}

/* One libdeflate compressor per worker thread and level: whole-buffer
 * deflate, about 2.4 times zlib's speed at a smaller size.  Its 32 KiB
 * window: see the top of this file. */
struct deflate_tls {
	int level;
	struct libdeflate_compressor *c;
};

static void tls_free(void *p)
{
	struct deflate_tls *t = p;

	libdeflate_free_compressor(t->c);
	free(t);
}

static struct vmc_tls tls = VMC_TLS_INIT(sizeof(struct deflate_tls),
					 tls_free);

static struct libdeflate_compressor *compressor(int level)
{
	struct deflate_tls *t = vmc_tls_get(&tls);

	if (!t)
		return NULL;
	if (t->c && t->level == level)
		return t->c;
	libdeflate_free_compressor(t->c);
	t->c = libdeflate_alloc_compressor(level);
	t->level = level;
	return t->c;
}

int qcow2_max_level(unsigned type)
{
	return type == QCOW2_COMP_ZSTD ? ZSTD_maxCLevel() : 12;
}

/* Compress one cluster (len bytes, zero-padded to cluster_size) at level
 * (0: the default).  Sets *out_len = 0 when the result would not be
 * smaller than a cluster, as qemu stores such clusters plain. */
int qcow2_compress_cluster(unsigned type, int level, const void *in,
			   size_t len, size_t cluster_size, void *out,
			   size_t out_cap, size_t *out_len,
			   struct vmc_error *err)
{
	uint8_t *pad = NULL;
	size_t cap = out_cap < cluster_size - 1 ? out_cap : cluster_size - 1;

	*out_len = 0;
	if (len < cluster_size) {
		pad = calloc(1, cluster_size);
		if (!pad)
			return vmc_error_set(err, ENOMEM, "out of memory");
		memcpy(pad, in, len);
		in = pad;
	}
	if (type == QCOW2_COMP_ZSTD) {
		size_t r = ZSTD_compress(out, cap, in, cluster_size,
					 level ? level : ZSTD_CLEVEL_DEFAULT);

		if (!ZSTD_isError(r))
			*out_len = r;
	} else if (level == 1) {
		if (vmc_igzip_deflate(VMC_IGZIP_RAW, IGZIP_HIST_BITS, in,
				      cluster_size, out, cap, out_len) < 0) {
			free(pad);
			return vmc_error_set(err, ENOMEM, "igzip deflate"
					     " failed");
		}
	} else {
		struct libdeflate_compressor *c =
			compressor(level ? level : QCOW2_DEFLATE_LEVEL);

		if (!c) {
			free(pad);
			return vmc_error_set(err, ENOMEM, "out of memory");
		}
		/* 0 when it does not fit: stored plain */
		*out_len = libdeflate_deflate_compress(c, in, cluster_size,
						       out, cap);
	}
	free(pad);
	return 0;
}
