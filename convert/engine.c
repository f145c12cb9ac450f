/* The conversion engine: an extent walk feeding a bounded pipeline.
 *
 *   reader thread   block_status + pread into a free buffer, in order
 *   worker threads  zero detection per unit, compression per unit
 *                   (and the pread itself when the source's driver is
 *                   VMC_THREAD_PARALLEL_READ: the reader then only walks
 *                   the extents, and compressed source clusters are
 *                   inflated on every core)
 *   writer (caller) pwrite / pwrite_zeroes / pwrite_compressed in order,
 *                   digest, progress
 *
 * The drivers' thread models (include/vmconv/image.h) decide what may
 * overlap: io_mu serializes the target's calls when its driver is below
 * VMC_THREAD_PARALLEL and workers compress, and every driver call when
 * the target's driver is VMC_THREAD_SERIALIZE_ALL (the source, or a
 * parent of it, may be of the same driver).  Workers read the source
 * only when its driver is VMC_THREAD_PARALLEL_READ, and not with
 * --salvage (its unreadable runs are reported in order, by the reader);
 * the order of the output is the ring's, whoever reads.
 *
 * Copy offload: when the target copies from a file (raw) and a data
 * extent of the source lies plain in one (raw, qcow2's uncompressed
 * clusters), the caller asks for it (-C) and nothing needs the bytes in
 * memory (no -c, digest, salvage or -S), the reader queues a copy job
 * instead of reading it and the writer has the kernel copy it
 * (copy_file_range): no read into user space, holes never read.
 * Allocated zeros in such an extent are copied as they are (as with
 * qemu-img -C), not found by zero detection.
 *
 * Memory is nbuf chunk buffers (plus as many compression buffers with -c),
 * whatever the size of the image.  Every window starts unit-aligned, so a
 * compressed unit never straddles two chunks.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <vmconv/convert.h>
#include <vmconv/output.h>

#include "common/bytes.h"

#define DEFAULT_CHUNK (2u << 20)
#define MIN_ZERO_UNIT 4096u
#define MAX_ZERO_UNIT (1u << 20)
#define SALVAGE_UNIT 512u
/* Start the target's write-back every this many bytes converted, so that
 * the flush before the rename finds little left to write (8 MiB: the
 * durable raw -> qcow2 row of bench/run, 0.58 s at 32 MiB, 0.51 s at 8,
 * 0.54 s at 2).  With -t unsafe the kernel decides, as for qemu-img. */
#define WRITEBACK_EVERY (8u << 20)

enum job_state { JOB_FREE, JOB_QUEUED, JOB_BUSY, JOB_DONE };

struct job {
	enum job_state state;
	bool hole;
	bool copy;			/* offloaded: cfd at foff, no buffer */
	bool unread;			/* a worker reads it; first is the
					 * extent the reader saw at off */
	struct vmc_extent first;
	int cfd;
	uint64_t foff;
	uint64_t off, len;
	int buf;			/* index into the pools, -1 for holes */
	/* Per unit after the worker: 0 data, 1 zero; with compression the
	 * compressed length (0 = store plain). */
	uint8_t *zero;
	size_t *clen;
	/* Per unit: bytes of it the source holds as a hole (read as zeros
	 * into a data window); they are hole bytes, not zero data. */
	uint32_t *holes;
};

struct engine {
	const struct vmc_convert_params *p;
	struct vmc_image *src, *dst;
	size_t chunk, unit, nunits;
	bool compress;
	bool offload;			/* copy jobs for plain data extents */
	bool worker_reads;		/* see the top of the file */

	pthread_mutex_t mu;
	pthread_cond_t cv;		/* any state change */
	pthread_mutex_t io_mu;		/* see the thread models above */
	bool lock_src, lock_dst;
	struct job *ring;
	size_t nslots, head, tail;	/* head: next to write; tail: next
					 * to fill */
	uint8_t **buf, **cbuf;
	int *free_buf;
	size_t nfree, nbuf;
	bool reader_done, stop;
	int err_set;
	struct vmc_error err;
	struct vmc_convert_stats *st;
	struct timespec t0;
};

static void fail(struct engine *e, const struct vmc_error *err)
{
	pthread_mutex_lock(&e->mu);
	if (!e->err_set) {
		e->err = *err;
		e->err_set = 1;
	}
	e->stop = true;
	pthread_cond_broadcast(&e->cv);
	pthread_mutex_unlock(&e->mu);
}

static void io_lock(struct engine *e, bool need)
{
	if (need)
		pthread_mutex_lock(&e->io_mu);
}

static void io_unlock(struct engine *e, bool need)
{
	if (need)
		pthread_mutex_unlock(&e->io_mu);
}

/* Wait for a free ring slot (and a buffer if want_buf); returns the slot
 * or NULL when stopping.  Called with mu held. */
static struct job *claim(struct engine *e, bool want_buf)
{
	while (!e->stop && (e->tail - e->head == e->nslots ||
			    (want_buf && e->nfree == 0)))
		pthread_cond_wait(&e->cv, &e->mu);
	if (e->stop)
		return NULL;
	struct job *j = &e->ring[e->tail % e->nslots];
	j->buf = want_buf ? e->free_buf[--e->nfree] : -1;
	j->copy = false;
	j->unread = false;
	return j;
}

static void publish(struct engine *e, struct job *j, bool hole,
		    uint64_t off, uint64_t len)
{
	j->hole = hole;
	j->off = off;
	j->len = len;
	j->state = hole || j->copy ? JOB_DONE : JOB_QUEUED;
	e->tail++;
	pthread_cond_broadcast(&e->cv);
}

/* --salvage: read sector by sector; each unreadable run becomes zeros
 * and is reported once. */
static int salvage(struct engine *e, uint8_t *buf, uint64_t len,
		   uint64_t off, struct vmc_error *err)
{
	uint64_t bad_at = 0, bad = 0, p = 0;
	struct vmc_error first = { 0 };

	for (;;) {
		size_t n = (size_t)VMC_MIN(SALVAGE_UNIT, len - p);

		if (p < len && vmc_image_pread(e->src, buf + p, n, off + p,
					       err) < 0) {
			memset(buf + p, 0, n);
			if (!bad) {
				bad_at = off + p;
				first = *err;
			}
			bad += n;
			e->st->salvaged_bytes += n;
			p += n;
			continue;
		}
		if (bad && e->p->read_error)
			e->p->read_error(e->p->read_error_ctx, bad_at, bad,
					 &first);
		bad = 0;
		if (p == len)
			return 0;
		p += n;
	}
}

static int read_data(struct engine *e, uint8_t *buf, uint64_t len,
		     uint64_t off, struct vmc_error *err)
{
	if (vmc_image_pread(e->src, buf, (size_t)len, off, err) == 0)
		return 0;
	if (!e->p->salvage || err->code == ENOMEM)
		return -1;
	return salvage(e, buf, len, off, err);
}

struct window_ctx {
	struct engine *e;
	struct job *j;
	uint64_t off;			/* where the window starts */
};

static int window_read(void *ctx, uint8_t *buf, uint64_t len, uint64_t off,
		       struct vmc_error *err)
{
	struct window_ctx *w = ctx;

	return read_data(w->e, buf, len, off, err);
}

/* Record a hole run of the window, unit by unit. */
static void window_run(void *ctx, uint64_t p, uint64_t len,
		       enum vmc_extent_kind kind)
{
	struct window_ctx *w = ctx;
	struct engine *e = w->e;
	uint64_t r = p - w->off, rend = r + len;

	if (kind == VMC_EXTENT_DATA)
		return;
	while (r < rend) {
		size_t u = (size_t)(r / e->unit);
		uint64_t uend = VMC_MIN((uint64_t)(u + 1) * e->unit, rend);

		w->j->holes[u] += (uint32_t)(uend - r);
		r = uend;
	}
}

static int read_window(struct engine *e, struct job *j, uint64_t off,
		       uint64_t end, struct vmc_extent first,
		       struct vmc_error *err)
{
	struct window_ctx w = { e, j, off };
	struct vmc_sparse_read sr = {
		.read = window_read, .run = window_run, .ctx = &w,
		.first = &first,
	};
	int r;

	memset(j->holes, 0, e->nunits * sizeof(*j->holes));
	io_lock(e, e->lock_src);
	r = vmc_image_read_sparse(e->src, e->buf[j->buf], (size_t)(end - off),
				  off, &sr, err);
	io_unlock(e, e->lock_src);
	pthread_mutex_lock(&e->mu);	/* workers read too */
	e->st->data_bytes += sr.data_bytes;
	e->st->hole_bytes += sr.hole_bytes;
	pthread_mutex_unlock(&e->mu);
	return r;
}

/* Queue a copy job for the data extent at off if the source holds its
 * first bytes plain in a file: 1 (*adv: bytes queued), 0 (read it
 * instead), -1 (error, or stopping with *adv 0). */
static int queue_copy(struct engine *e, uint64_t off, uint64_t len,
		      uint64_t *adv, struct vmc_error *err)
{
	struct vmc_host_extent h;
	struct job *j;
	int r;

	*adv = 0;
	io_lock(e, e->lock_src);
	/* a chunk at most: progress and interruption as with reads */
	r = vmc_image_host_extent(e->src, off, VMC_MIN(len, e->chunk), &h,
				  err);
	io_unlock(e, e->lock_src);
	if (r <= 0)
		return r;
	pthread_mutex_lock(&e->mu);
	j = claim(e, false);
	if (j) {
		j->copy = true;
		j->cfd = h.fd;
		j->foff = h.offset;
		publish(e, j, false, off, h.length);
		e->st->data_bytes += h.length;
		*adv = h.length;
	}
	pthread_mutex_unlock(&e->mu);
	return j ? 1 : -1;
}

static void *reader(void *arg)
{
	struct engine *e = arg;
	uint64_t size = e->src->size, off = 0;
	struct vmc_error err;

	while (off < size) {
		struct vmc_extent x;
		struct job *j;
		int r;

		if (e->p->cancel && *e->p->cancel) {
			vmc_error_set(&err, ECANCELED, "%s: interrupted",
				      e->dst->filename);
			goto failed;
		}
		io_lock(e, e->lock_src);
		r = vmc_image_block_status(e->src, off, size - off, &x, &err);
		io_unlock(e, e->lock_src);
		if (r < 0)
			goto failed;
		if (x.kind != VMC_EXTENT_DATA) {
			uint64_t end = off + x.length;

			if (end != size)
				end = VMC_ALIGN_DOWN(end, e->unit);
			if (end > off) {
				pthread_mutex_lock(&e->mu);
				j = claim(e, false);
				if (j) {
					publish(e, j, true, off, end - off);
					e->st->hole_bytes += end - off;
				}
				pthread_mutex_unlock(&e->mu);
				if (!j)
					return NULL;
				off = end;
				continue;
			}
		}
		if (e->offload) {
			uint64_t adv;

			r = queue_copy(e, off, x.length, &adv, &err);
			if (r < 0 && !adv && e->stop)
				return NULL;
			if (r < 0)
				goto failed;
			if (r > 0) {
				off += adv;
				continue;
			}
		}
		uint64_t wend = VMC_MIN(VMC_ALIGN_DOWN(off, e->chunk) +
					e->chunk, size);

		pthread_mutex_lock(&e->mu);
		j = claim(e, true);
		pthread_mutex_unlock(&e->mu);
		if (!j)
			return NULL;
		if (e->worker_reads) {
			j->unread = true;
			j->first = x;
		} else if (read_window(e, j, off, wend, x, &err) < 0) {
			goto failed;
		}
		pthread_mutex_lock(&e->mu);
		publish(e, j, false, off, wend - off);
		pthread_mutex_unlock(&e->mu);
		off = wend;
	}
	pthread_mutex_lock(&e->mu);
	e->reader_done = true;
	pthread_cond_broadcast(&e->cv);
	pthread_mutex_unlock(&e->mu);
	return NULL;
failed:
	fail(e, &err);
	return NULL;
}

static int process(struct engine *e, struct job *j, struct vmc_error *err)
{
	const uint8_t *in = e->buf[j->buf];
	size_t n = VMC_DIV_ROUND_UP(j->len, e->unit);
	int r;

	if (j->unread && read_window(e, j, j->off, j->off + j->len, j->first,
				     err) < 0)
		return -1;
	for (size_t u = 0; u < n; u++) {
		size_t ulen = VMC_MIN(e->unit, j->len - u * e->unit);
		const uint8_t *p = in + u * e->unit;

		j->zero[u] = !e->p->allocate_all && vmc_is_zero(p, ulen);
		j->clen[u] = 0;
		if (!e->compress || j->zero[u])
			continue;
		io_lock(e, e->lock_dst);
		r = vmc_image_compress(e->dst, j->off + u * e->unit, p, ulen,
				       e->cbuf[j->buf] + u * e->unit, e->unit,
				       &j->clen[u], err);
		io_unlock(e, e->lock_dst);
		if (r < 0)
			return -1;
	}
	return 0;
}

static void *worker(void *arg)
{
	struct engine *e = arg;
	struct vmc_error err;

	pthread_mutex_lock(&e->mu);
	for (;;) {
		struct job *j = NULL;

		for (size_t i = e->head; i < e->tail; i++) {
			if (e->ring[i % e->nslots].state == JOB_QUEUED) {
				j = &e->ring[i % e->nslots];
				break;
			}
		}
		if (e->stop || (!j && e->reader_done))
			break;
		if (!j) {
			pthread_cond_wait(&e->cv, &e->mu);
			continue;
		}
		j->state = JOB_BUSY;
		pthread_mutex_unlock(&e->mu);
		if (process(e, j, &err) < 0) {
			fail(e, &err);
			return NULL;
		}
		pthread_mutex_lock(&e->mu);
		j->state = JOB_DONE;
		pthread_cond_broadcast(&e->cv);
	}
	pthread_mutex_unlock(&e->mu);
	return NULL;
}

static int hash_zeros(EVP_MD_CTX *md, uint64_t len)
{
	static const uint8_t zero[1 << 16];

	while (len > 0) {
		size_t n = VMC_MIN(len, sizeof(zero));

		if (!EVP_DigestUpdate(md, zero, n))
			return -1;
		len -= n;
	}
	return 0;
}

/* -S 0: zeros are written as data, so every block is allocated. */
static int write_zero_data(struct engine *e, uint64_t off, uint64_t len,
			   struct vmc_error *err)
{
	static const uint8_t zero[1 << 16];

	while (len > 0) {
		size_t n = (size_t)VMC_MIN(len, sizeof(zero));

		if (vmc_image_pwrite(e->dst, zero, n, off, err) < 0)
			return -1;
		e->st->written_bytes += n;
		off += n;
		len -= n;
	}
	return 0;
}

static int write_zeros(struct engine *e, uint64_t off, uint64_t len,
		       struct vmc_error *err)
{
	if (len && e->p->allocate_all)
		return write_zero_data(e, off, len, err);
	if (len == 0 || e->dst->zero_init)
		return 0;
	return vmc_image_pwrite_zeroes(e->dst, off, len, err);
}

static int write_job(struct engine *e, struct job *j, EVP_MD_CTX *md,
		     struct vmc_error *err)
{
	const uint8_t *in;
	uint64_t run = 0, run_at = 0;	/* pending plain data run */
	uint64_t zrun = 0, zrun_at = 0;	/* pending zero run */
	size_t n;

	if (md && (j->hole ? hash_zeros(md, j->len) :
		   !EVP_DigestUpdate(md, e->buf[j->buf], j->len)))
		return vmc_error_set(err, EIO, "SHA-256 failed");
	if (j->hole)
		return write_zeros(e, j->off, j->len, err);
	if (j->copy) {
		if (vmc_image_copy_from_fd(e->dst, j->off, j->cfd, j->foff,
					   j->len, err) < 0)
			return -1;
		e->st->written_bytes += j->len;
		return 0;
	}

	in = e->buf[j->buf];
	n = VMC_DIV_ROUND_UP(j->len, e->unit);
	for (size_t u = 0; u <= n; u++) {
		uint64_t uoff = VMC_MIN(u * e->unit, j->len);
		size_t ulen = u < n ? VMC_MIN(e->unit, j->len - uoff) : 0;
		bool zero = u < n && j->zero[u];
		bool comp = u < n && !zero && j->clen[u] > 0;

		/* Flush the pending runs that this unit does not extend. */
		if (run && (u == n || zero || comp)) {
			if (vmc_image_pwrite(e->dst, in + run_at, (size_t)run,
					     j->off + run_at, err) < 0)
				return -1;
			e->st->written_bytes += run;
			run = 0;
		}
		if (zrun && (u == n || !zero)) {
			if (write_zeros(e, j->off + zrun_at, zrun, err) < 0)
				return -1;
			zrun = 0;
		}
		if (u == n)
			break;
		if (zero) {
			if (!zrun)
				zrun_at = uoff;
			zrun += ulen;
			e->st->zero_bytes += ulen - j->holes[u];
		} else if (comp) {
			if (vmc_image_pwrite_compressed(e->dst,
					j->off + uoff, e->cbuf[j->buf] + uoff,
					j->clen[u], ulen, err) < 0)
				return -1;
			e->st->written_bytes += ulen;
			e->st->compressed_bytes += j->clen[u];
		} else {
			if (!run)
				run_at = uoff;
			run += ulen;
		}
	}
	return 0;
}

/* -r: sleep until done bytes are no ahead of rate_limit a second since
 * the start (in steps, so an interruption is seen soon). */
static void throttle(struct engine *e, uint64_t done)
{
	struct timespec now;
	double due, el;

	if (!e->p->rate_limit)
		return;
	due = (double)done / (double)e->p->rate_limit;
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		el = (double)(now.tv_sec - e->t0.tv_sec) +
		     (double)(now.tv_nsec - e->t0.tv_nsec) / 1e9;
		if (el >= due || e->stop || (e->p->cancel && *e->p->cancel))
			return;
		double w = VMC_MIN(due - el, 0.1);
		struct timespec ts = { 0, (long)(w * 1e9) };

		nanosleep(&ts, NULL);
	}
}

static int writer(struct engine *e, EVP_MD_CTX *md, struct vmc_error *err)
{
	uint64_t done = 0, kicked = 0;
	int r;

	pthread_mutex_lock(&e->mu);
	for (;;) {
		struct job *j;

		while (!e->stop && e->head == e->tail && !e->reader_done)
			pthread_cond_wait(&e->cv, &e->mu);
		if (e->stop)
			break;
		if (e->head == e->tail && e->reader_done)
			break;
		j = &e->ring[e->head % e->nslots];
		if (j->state != JOB_DONE) {
			pthread_cond_wait(&e->cv, &e->mu);
			continue;
		}
		pthread_mutex_unlock(&e->mu);
		io_lock(e, e->lock_dst);
		r = write_job(e, j, md, err);
		io_unlock(e, e->lock_dst);
		if (r < 0) {
			fail(e, err);
			return -1;
		}
		done += j->len;
		throttle(e, done);
		if (!vmc_output_is_unsafe(e->dst->out) &&
		    e->st->written_bytes - kicked >= WRITEBACK_EVERY) {
			vmc_output_writeback(e->dst->out);
			kicked = e->st->written_bytes;
		}
		if (e->p->progress)
			e->p->progress(e->p->progress_ctx, done, e->src->size);
		pthread_mutex_lock(&e->mu);
		if (j->buf >= 0)
			e->free_buf[e->nfree++] = j->buf;
		j->state = JOB_FREE;
		e->head++;
		pthread_cond_broadcast(&e->cv);
	}
	pthread_mutex_unlock(&e->mu);
	return 0;
}

static size_t pick_unit(const struct vmc_image *dst, bool compress)
{
	size_t unit = dst->granularity ? dst->granularity : 512;

	if (unit < MIN_ZERO_UNIT)
		unit = MIN_ZERO_UNIT;
	if (unit > MAX_ZERO_UNIT)
		unit = MAX_ZERO_UNIT;
	if (compress && dst->compress_unit)
		unit = dst->compress_unit;
	return unit;
}

static void engine_free(struct engine *e)
{
	for (size_t i = 0; e->buf && i < e->nbuf; i++) {
		free(e->buf[i]);
		if (e->cbuf)
			free(e->cbuf[i]);
	}
	for (size_t i = 0; e->ring && i < e->nslots; i++) {
		free(e->ring[i].zero);
		free(e->ring[i].clen);
		free(e->ring[i].holes);
	}
	free(e->buf);
	free(e->cbuf);
	free(e->free_buf);
	free(e->ring);
	pthread_mutex_destroy(&e->mu);
	pthread_mutex_destroy(&e->io_mu);
	pthread_cond_destroy(&e->cv);
}

/* Which calls io_mu serializes, from the target driver's thread model. */
static void pick_locks(struct engine *e)
{
	enum vmc_thread_model m = e->dst->drv->thread_model;

	e->lock_src = m == VMC_THREAD_SERIALIZE_ALL;
	e->lock_dst = e->lock_src ||
		      (e->compress && m < VMC_THREAD_PARALLEL);
	/* --salvage reports unreadable runs in order, from the reader */
	e->worker_reads = !e->p->salvage && e->src->drv->thread_model >=
					    VMC_THREAD_PARALLEL_READ;
}

static int engine_init(struct engine *e, const struct vmc_convert_params *p,
		       unsigned threads, struct vmc_error *err)
{
	pthread_mutex_init(&e->mu, NULL);
	pthread_mutex_init(&e->io_mu, NULL);
	pthread_cond_init(&e->cv, NULL);
	e->p = p;
	e->src = p->src;
	e->dst = p->dst;
	e->compress = (p->compress || p->dst->compress_always) &&
		      vmc_image_can_compress(p->dst);
	if ((p->compress || p->dst->compress_always) && !e->compress)
		return vmc_error_set(err, ENOTSUP,
			"%s: format %s cannot write compressed data",
			p->dst->filename, p->dst->drv->name);
	pick_locks(e);
	e->offload = p->copy_offload && !e->compress && !p->digest &&
		     !p->salvage &&
		     !p->allocate_all && !p->sparse_size &&
		     vmc_image_can_copy_from_fd(p->dst);
	e->unit = pick_unit(p->dst, e->compress);
	if (p->sparse_size && !e->compress)
		e->unit = VMC_MIN(VMC_ALIGN_UP(p->sparse_size, 512),
				  MAX_ZERO_UNIT);
	e->chunk = p->chunk_size ? p->chunk_size : DEFAULT_CHUNK;
	e->chunk = VMC_ALIGN_UP(VMC_MAX(e->chunk, e->unit), e->unit);
	e->nunits = e->chunk / e->unit;
	e->nbuf = p->buffers ? p->buffers : 2 * threads + 2;
	e->nslots = 2 * e->nbuf;
	e->ring = calloc(e->nslots, sizeof(*e->ring));
	e->buf = calloc(e->nbuf, sizeof(*e->buf));
	e->cbuf = e->compress ? calloc(e->nbuf, sizeof(*e->cbuf)) : NULL;
	e->free_buf = calloc(e->nbuf, sizeof(*e->free_buf));
	if (!e->ring || !e->buf || !e->free_buf || (e->compress && !e->cbuf))
		return vmc_error_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < e->nslots; i++) {
		e->ring[i].zero = calloc(e->nunits, 1);
		e->ring[i].clen = calloc(e->nunits, sizeof(size_t));
		e->ring[i].holes = calloc(e->nunits, sizeof(uint32_t));
		if (!e->ring[i].zero || !e->ring[i].clen ||
		    !e->ring[i].holes)
			return vmc_error_set(err, ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < e->nbuf; i++) {
		e->buf[i] = malloc(e->chunk);
		if (!e->buf[i] || (e->cbuf && !(e->cbuf[i] = malloc(e->chunk))))
			return vmc_error_set(err, ENOMEM, "out of memory");
		e->free_buf[e->nfree++] = (int)i;
	}
	e->st->peak_buffer_bytes = e->nbuf * e->chunk * (e->compress ? 2 : 1);
	return 0;
}

int vmc_convert_run(const struct vmc_convert_params *p,
		    struct vmc_convert_stats *st, struct vmc_error *err)
{
	struct engine e = { .st = st };
	unsigned threads = p->threads;
	pthread_t rd, *wk = NULL;
	size_t nwk = 0;
	EVP_MD_CTX *md = NULL;
	struct timespec t0, t1;
	unsigned mdlen;
	int ret = -1;

	memset(st, 0, sizeof(*st));
	st->virtual_size = p->src->size;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	e.t0 = t0;
	if (p->src->size > p->dst->size)
		return vmc_error_set(err, EINVAL,
			"%s: target is smaller (%" PRIu64 " bytes) than the"
			" source (%" PRIu64 " bytes)", p->dst->filename,
			p->dst->size, p->src->size);
	if (!threads) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		threads = n > 0 ? (unsigned)n : 1;
	}
	if (engine_init(&e, p, threads, err) < 0)
		goto out;
	if (p->digest) {
		md = EVP_MD_CTX_new();
		if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
			vmc_error_set(err, EIO, "cannot start SHA-256");
			goto out;
		}
	}
	wk = calloc(threads, sizeof(*wk));
	if (!wk) {
		vmc_error_set(err, ENOMEM, "out of memory");
		goto out;
	}
	if (pthread_create(&rd, NULL, reader, &e) != 0) {
		vmc_error_set(err, EAGAIN, "cannot start reader thread");
		goto out;
	}
	for (; nwk < threads; nwk++)
		if (pthread_create(&wk[nwk], NULL, worker, &e) != 0)
			break;
	if (nwk == 0) {
		struct vmc_error te;

		vmc_error_set(&te, EAGAIN, "cannot start worker threads");
		fail(&e, &te);
	}
	writer(&e, md, err);
	pthread_join(rd, NULL);
	for (size_t i = 0; i < nwk; i++)
		pthread_join(wk[i], NULL);
	if (e.err_set) {
		*err = e.err;
		goto out;
	}
	/* Writes beyond the source (a larger target) are left as they are:
	 * fresh images read as zero there. */
	if (vmc_image_flush(p->dst, err) < 0)
		goto out;
	if (md) {
		if (!EVP_DigestFinal_ex(md, st->sha256, &mdlen)) {
			vmc_error_set(err, EIO, "SHA-256 failed");
			goto out;
		}
		st->have_digest = true;
	}
	ret = 0;
out:
	clock_gettime(CLOCK_MONOTONIC, &t1);
	st->seconds = (double)(t1.tv_sec - t0.tv_sec) +
		      (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	EVP_MD_CTX_free(md);
	free(wk);
	engine_free(&e);
	return ret;
}
