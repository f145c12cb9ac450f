/* qcow2 compressed clusters: zlib (raw deflate, no zlib header) and zstd
 * (compression type 1).  qemu docs/interop/qcow2.txt, "Compressed
 * Clusters Descriptor" and the compression_type header field. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>
#include <zstd.h>

#include "formats/qcow2.h"

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

static int unzstd(struct qcow2_state *s, const uint8_t *in, size_t inlen,
		  uint8_t *out, size_t outlen)
{
	ZSTD_inBuffer ib = { in, inlen, 0 };
	ZSTD_outBuffer ob = { out, outlen, 0 };

	if (!s->zstd_dctx) {
		s->zstd_dctx = ZSTD_createDCtx();
		if (!s->zstd_dctx)
			return -1;
	}
	ZSTD_DCtx_reset(s->zstd_dctx, ZSTD_reset_session_only);
	/* Stop as soon as the cluster is full: the sector padding after
	 * the frame is never parsed. */
	while (ob.pos < ob.size) {
		size_t in0 = ib.pos, out0 = ob.pos;
		size_t r = ZSTD_decompressStream(s->zstd_dctx, &ob, &ib);

		if (ZSTD_isError(r) || (ib.pos == in0 && ob.pos == out0))
			return -1;
	}
	return 0;
}

int qcow2_decompress(struct qcow2_state *s, const uint8_t *in, size_t inlen,
		     uint8_t *out, size_t outlen)
{
	if (s->compression == QCOW2_COMP_ZSTD)
		return unzstd(s, in, inlen, out, outlen);
	return inflate_raw(in, inlen, out, outlen);
}

/* Compress one cluster (len bytes, zero-padded to cluster_size).  Sets
 * *out_len = 0 when the result would not be smaller than a cluster, as
 * qemu stores such clusters plain. */
int qcow2_compress_cluster(unsigned type, const void *in, size_t len,
			   size_t cluster_size, void *out, size_t out_cap,
			   size_t *out_len, struct vmc_error *err)
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
					 ZSTD_CLEVEL_DEFAULT);

		if (!ZSTD_isError(r))
			*out_len = r;
	} else {
		z_stream z;

		memset(&z, 0, sizeof(z));
		if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -12, 9,
				 Z_DEFAULT_STRATEGY) != Z_OK) {
			free(pad);
			return vmc_error_set(err, ENOMEM, "deflateInit2"
					     " failed");
		}
		z.next_in = (Bytef *)in;
		z.avail_in = (uInt)cluster_size;
		z.next_out = out;
		z.avail_out = (uInt)cap;
		if (deflate(&z, Z_FINISH) == Z_STREAM_END)
			*out_len = cap - z.avail_out;
		deflateEnd(&z);
	}
	free(pad);
	return 0;
}
