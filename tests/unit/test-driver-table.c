/* Unit tests: what a driver table declares and who honours it: create
 * options (include/vmconv/opts.h, vmc_driver_opts), the thread model (the
 * convert engine), and the allocation-aware read all readers share
 * (vmc_image_read_sparse). */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include <vmconv/vmconv.h>

/* ---- create options ---- */

static const char *const colours[] = { "red", "green", NULL };
static const struct vmc_opt_desc desc[] = {
	{ "size", VMC_OPT_SIZE, "64k", "a size", NULL },
	{ "flag", VMC_OPT_BOOL, "off", "a flag", NULL },
	{ "count", VMC_OPT_UINT, NULL, "a number", NULL },
	{ "colour", VMC_OPT_STRING, "red", "a choice", colours },
	{ NULL }
};

static void apply_fails(const char *list, const char *msg)
{
	struct vmc_opts *o = vmc_opts_new();
	struct vmc_error err;

	cr_assert_eq(vmc_opts_parse(o, list, &err), 0);
	cr_assert_eq(vmc_opts_apply(o, desc, "t.img", &err), -1, "%s", list);
	cr_assert_str_eq(err.msg, msg);
	vmc_opts_free(o);
}

Test(opts_table, refuses_what_the_table_does_not_allow)
{
	apply_fails("bogus=1", "t.img: unknown option 'bogus'");
	apply_fails("size=12Q", "t.img: option size: '12Q' is not a size");
	apply_fails("flag=maybe", "t.img: option flag: 'maybe' is not on or off");
	apply_fails("count=-1", "t.img: option count: '-1' is not a number");
	apply_fails("colour=blue",
		    "t.img: option colour must be one of red, green, not 'blue'");
}

Test(opts_table, fills_defaults_as_used)
{
	struct vmc_opts *o = vmc_opts_new(), *c;
	struct vmc_error err;
	uint64_t n;

	cr_assert_eq(vmc_opts_parse(o, "colour=green", &err), 0);
	c = vmc_opts_dup(o);
	cr_assert_eq(vmc_opts_apply(c, desc, "t", &err), 0, "%s", err.msg);
	/* the defaults need no reader; the user's value does */
	cr_assert_eq(vmc_opts_check_used(c, "t", &err), -1);
	cr_assert_str_eq(vmc_opts_get(c, "colour"), "green");
	cr_assert_eq(vmc_opts_check_used(c, "t", &err), 0, "%s", err.msg);
	cr_assert_eq(vmc_opts_get_size(c, "size", 0, &n, &err), 0);
	cr_assert_eq(n, 65536);
	cr_assert_null(vmc_opts_get(c, "count"));
	/* the caller's list is untouched */
	cr_assert_null(vmc_opts_get(o, "size"));
	vmc_opts_free(c);
	vmc_opts_free(o);
}

/* Every writable built-in format declares its options, and its own
 * defaults pass its own table. */
Test(opts_table, builtin_drivers_declare_themselves)
{
	size_t writable = 0;

	for (size_t i = 0; i < vmc_driver_count(); i++) {
		const struct vmc_driver *d = vmc_driver_at(i);
		struct vmc_opts *o;
		struct vmc_error err;

		cr_assert_not_null(d->qemu_name, "%s", d->name);
		if (!d->create)
			continue;
		writable++;
		cr_assert_not_null(d->create_opts, "%s", d->name);
		for (const struct vmc_opt_desc *x = d->create_opts; x->name;
		     x++) {
			char kv[256];

			cr_assert(x->help && *x->help, "%s %s", d->name,
				  x->name);
			if (!x->def)
				continue;
			o = vmc_opts_new();
			snprintf(kv, sizeof(kv), "%s=%s", x->name, x->def);
			cr_assert_eq(vmc_opts_parse(o, kv, &err), 0);
			cr_assert_eq(vmc_opts_apply(o, d->create_opts, d->name,
						    &err), 0, "%s", err.msg);
			vmc_opts_free(o);
		}
		o = vmc_driver_opts(d, NULL, d->name, &err);
		cr_assert_not_null(o, "%s", err.msg);
		vmc_opts_free(o);
	}
	cr_assert_geq(writable, 4);
}

/* ---- a driver that records how its calls overlap ---- */

struct fake {
	atomic_int active, peak;
	bool holes;			/* every other 64 KiB is a hole */
};

static struct fake all;			/* every image of the driver */

static void bump(struct fake *f)
{
	int n = atomic_fetch_add(&f->active, 1) + 1, p = f->peak;

	while (n > p && !atomic_compare_exchange_weak(&f->peak, &p, n))
		;
}

static void enter(struct vmc_image *img)
{
	bump(img->opaque);
	bump(&all);
	usleep(300);
}

static void leave(struct vmc_image *img)
{
	atomic_fetch_sub(&((struct fake *)img->opaque)->active, 1);
	atomic_fetch_sub(&all.active, 1);
}

static int f_pread(struct vmc_image *img, void *buf, size_t len,
		   uint64_t off, struct vmc_error *err)
{
	(void)err;
	enter(img);
	for (size_t i = 0; i < len; i++)
		((uint8_t *)buf)[i] = (uint8_t)((off + i) % 251 + 1);
	leave(img);
	return 0;
}

static int f_status(struct vmc_image *img, uint64_t off, uint64_t max,
		    struct vmc_extent *ext, struct vmc_error *err)
{
	struct fake *f = img->opaque;
	uint64_t end = (off / 65536 + 1) * 65536;

	(void)err;
	enter(img);
	*ext = (struct vmc_extent){ off, end - off < max ? end - off : max,
		f->holes && off / 65536 % 2 ? VMC_EXTENT_ZERO :
		VMC_EXTENT_DATA };
	leave(img);
	return 0;
}

static int f_pwrite(struct vmc_image *img, const void *buf, size_t len,
		    uint64_t off, struct vmc_error *err)
{
	(void)buf; (void)len; (void)off; (void)err;
	enter(img);
	leave(img);
	return 0;
}

static int f_zeroes(struct vmc_image *img, uint64_t off, uint64_t len,
		    struct vmc_error *err)
{
	return f_pwrite(img, NULL, (size_t)len, off, err);
}

static int f_compress(struct vmc_image *img, uint64_t off, const void *in,
		      size_t len, void *out, size_t cap, size_t *out_len,
		      struct vmc_error *err)
{
	(void)off; (void)in; (void)len; (void)out; (void)cap; (void)err;
	enter(img);
	usleep(2000);			/* slower than the reader: the
					 * workers pile up */
	*out_len = 0;			/* store plain */
	leave(img);
	return 0;
}

static int f_pwrite_c(struct vmc_image *img, uint64_t off, const void *c,
		      size_t clen, size_t len, struct vmc_error *err)
{
	(void)c; (void)clen;
	return f_pwrite(img, NULL, len, off, err);
}

static struct vmc_driver fake_drv = {
	VMC_DRIVER_INIT,
	.name = "fake",
	.pread = f_pread,
	.block_status = f_status,
	.pwrite = f_pwrite,
	.pwrite_zeroes = f_zeroes,
	.compress = f_compress,
	.pwrite_compressed = f_pwrite_c,
};

#define FAKE_SIZE (4u << 20)

static void fake_image(struct vmc_image *img, struct fake *f, char *name)
{
	*f = (struct fake){ 0 };
	*img = (struct vmc_image){ .drv = &fake_drv, .opaque = f,
				   .filename = name, .size = FAKE_SIZE,
				   .compress_unit = 65536 };
}

/* Convert fake to fake with compression on 4 workers under model; the
 * peak overlaps of the target's calls and of all the driver's calls. */
static void convert_src(enum vmc_thread_model model, int *dst_peak,
			int *all_peak, int *src_peak)
{
	struct vmc_image src, dst;
	struct fake fs, fd;
	struct vmc_convert_params p = { .src = &src, .dst = &dst,
					.compress = true, .threads = 4,
					.chunk_size = 256 << 10 };
	struct vmc_convert_stats st;
	struct vmc_error err;

	fake_drv.thread_model = model;
	fake_image(&src, &fs, "src");
	fake_image(&dst, &fd, "dst");
	all = (struct fake){ 0 };
	cr_assert_eq(vmc_convert_run(&p, &st, &err), 0, "%s", err.msg);
	cr_assert_eq(st.written_bytes, FAKE_SIZE);
	*dst_peak = fd.peak;
	*all_peak = all.peak;
	*src_peak = fs.peak;
}

static void convert_under(enum vmc_thread_model model, int *dst_peak,
			  int *all_peak)
{
	int src;

	convert_src(model, dst_peak, all_peak, &src);
}

Test(thread_model, serialize_all_never_overlaps)
{
	int dst, any;

	convert_under(VMC_THREAD_SERIALIZE_ALL, &dst, &any);
	cr_assert_eq(any, 1, "%d calls of a serialize-all driver at once",
		     any);
}

Test(thread_model, serialize_image_keeps_one_image_serial)
{
	int dst, any;

	convert_under(VMC_THREAD_SERIALIZE_IMAGE, &dst, &any);
	cr_assert_eq(dst, 1, "%d calls on the target at once", dst);
}

/* The control: without the locks the workers do compress at once, so
 * the two tests above can fail. */
Test(thread_model, parallel_compresses_at_once)
{
	int dst, any;

	convert_under(VMC_THREAD_PARALLEL, &dst, &any);
	cr_assert_gt(dst, 1, "the workers never overlapped");
}

/* The source's calls: from the reader alone (one at a time) unless its
 * driver lets the workers read it at once. */
Test(thread_model, parallel_reads_the_source_from_the_reader)
{
	int dst, any, src;

	convert_src(VMC_THREAD_PARALLEL, &dst, &any, &src);
	cr_assert_eq(src, 1, "%d calls on the source at once", src);
}

Test(thread_model, parallel_read_reads_the_source_in_the_workers)
{
	int dst, any, src;

	convert_src(VMC_THREAD_PARALLEL_READ, &dst, &any, &src);
	cr_assert_gt(src, 1, "the workers never read at once");
	cr_assert_gt(dst, 1, "the workers never compressed at once");
}

/* ---- the allocation-aware read ---- */

struct runs {
	uint64_t n, data, hole, last_end;
};

static void on_run(void *ctx, uint64_t off, uint64_t len,
		   enum vmc_extent_kind kind)
{
	struct runs *r = ctx;

	cr_assert_eq(off, r->last_end, "runs in order, back to back");
	r->last_end = off + len;
	r->n++;
	if (kind == VMC_EXTENT_DATA)
		r->data += len;
	else
		r->hole += len;
}

Test(read_sparse, reads_data_and_zero_fills_holes)
{
	static uint8_t buf[300000];
	struct vmc_image img;
	struct fake f;
	struct runs r = { .last_end = 1000 };
	struct vmc_sparse_read sr = { .run = on_run, .ctx = &r };
	struct vmc_error err;

	fake_image(&img, &f, "img");
	f.holes = true;
	memset(buf, 0xee, sizeof(buf));
	cr_assert_eq(vmc_image_read_sparse(&img, buf, sizeof(buf), 1000, &sr,
					   &err), 0, "%s", err.msg);
	/* [1000, 64K) data, [64K, 128K) hole, [128K, 192K) data, ... */
	cr_assert_eq(r.n, 5);
	cr_assert_eq(sr.data_bytes, r.data);
	cr_assert_eq(sr.hole_bytes, r.hole);
	cr_assert_eq(sr.data_bytes + sr.hole_bytes, sizeof(buf));
	cr_assert_eq(sr.hole_bytes, 2 * 65536);
	for (size_t i = 0; i < sizeof(buf); i++) {
		uint64_t off = 1000 + i;
		uint8_t want = off / 65536 % 2 ? 0 : (uint8_t)(off % 251 + 1);

		cr_assert_eq(buf[i], want, "byte at 0x%zx", (size_t)off);
	}
	/* past the end is refused before any read */
	cr_assert_eq(vmc_image_read_sparse(&img, buf, sizeof(buf),
					   FAKE_SIZE - 10, NULL, &err), -1);
	cr_assert_eq(err.code, EINVAL);
}
