# Plugins built against an older, shorter struct vmc_driver keep loading
# and working: the loader copies only struct_size bytes.  Each plugin here
# declares the older layout itself (a prefix of today's struct) and puts
# garbage right after it, so a loader that read past struct_size would
# take the garbage for callbacks.  One old layout ends at pread (the
# smallest the loader takes), one at flush (writable, before check and
# info); a layout shorter than pread is refused.
. "$(dirname "$0")/lib.sh"
requires cc qemu-img

mkdir "$T/plugins"
cat > "$T/old.c" <<'C'
/* A toy format: "OLDABI!!" then the disk bytes. */
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vmconv/plugin.h>
#include <vmconv/output.h>
#include <vmconv/io.h>

/* the driver struct as an older vmconv declared it */
struct old_driver {
	uint32_t abi_version;
	uint32_t struct_size;
	const char *name;
	const char *const *aliases;
	const char *description;
	const char *extension;
	int (*probe)(const uint8_t *, size_t, const char *);
	int (*open)(struct vmc_image *, const char *, struct vmc_opts *,
		    struct vmc_error *);
	void (*close)(struct vmc_image *);
	int (*pread)(struct vmc_image *, void *, size_t, uint64_t,
		     struct vmc_error *);
#if OLD_LAYOUT >= 2
	int (*block_status)(struct vmc_image *, uint64_t, uint64_t,
			    struct vmc_extent *, struct vmc_error *);
	int (*create)(struct vmc_image *, const char *, uint64_t,
		      struct vmc_opts *, struct vmc_error *);
	int (*pwrite)(struct vmc_image *, const void *, size_t, uint64_t,
		      struct vmc_error *);
	int (*pwrite_zeroes)(struct vmc_image *, uint64_t, uint64_t,
			     struct vmc_error *);
	void *compress, *pwrite_compressed;
	int (*flush)(struct vmc_image *, struct vmc_error *);
#define LAST flush
#else
#define LAST pread
#endif
};
/* the older layout is a prefix of today's: same offsets */
_Static_assert(offsetof(struct old_driver, LAST) ==
	       offsetof(struct vmc_driver, LAST), "layout");
_Static_assert(sizeof(struct old_driver) < sizeof(struct vmc_driver),
	       "the old struct is shorter");

struct st { int fd; };
static int probe(const uint8_t *b, size_t n, const char *f)
{ return n >= 8 && !memcmp(b, "OLDABI!!", 8) ? 100 : 0; }
static int op(struct vmc_image *img, const char *fn, struct vmc_opts *o,
	      struct vmc_error *err)
{
	struct st *s = malloc(sizeof(*s)); struct stat sb;
	s->fd = open(fn, O_RDONLY);
	if (s->fd < 0) { free(s); return vmc_error_errno(err, 2, "%s: cannot open", fn); }
	fstat(s->fd, &sb); img->size = sb.st_size - 8; img->opaque = s; return 0;
}
static void cl(struct vmc_image *img)
{ struct st *s = img->opaque; if (s->fd >= 0 && img->out == NULL) close(s->fd); free(s); }
static int rd(struct vmc_image *img, void *buf, size_t len, uint64_t off,
	      struct vmc_error *err)
{ struct st *s = img->opaque; return vmc_pread_full(s->fd, buf, len, off + 8, img->filename, err); }
#if OLD_LAYOUT >= 2
static int cr(struct vmc_image *img, const char *fn, uint64_t size,
	      struct vmc_opts *o, struct vmc_error *err)
{
	struct st *s = malloc(sizeof(*s));
	s->fd = vmc_output_open(img->out, fn, err);
	if (s->fd < 0) { free(s); return -1; }
	if (ftruncate(s->fd, size + 8) < 0 ||
	    vmc_pwrite_full(s->fd, "OLDABI!!", 8, 0, fn, err) < 0)
		{ free(s); return -1; }
	img->size = size; img->opaque = s; return 0;
}
static int wr(struct vmc_image *img, const void *buf, size_t len,
	      uint64_t off, struct vmc_error *err)
{ struct st *s = img->opaque; return vmc_pwrite_full(s->fd, buf, len, off + 8, img->filename, err); }
static int wz(struct vmc_image *img, uint64_t off, uint64_t len,
	      struct vmc_error *err)
{
	static const char z[4096];
	while (len) {
		size_t n = len < 4096 ? len : 4096;
		if (wr(img, z, n, off, err) < 0)
			return -1;
		off += n;
		len -= n;
	}
	return 0;
}
static int fl(struct vmc_image *img, struct vmc_error *err)
{ struct st *s = img->opaque; return fsync(s->fd); }
#endif

/* the old driver, then bytes a too-long copy would take for callbacks */
static const struct {
	struct old_driver d;
	unsigned char junk[sizeof(struct vmc_driver)];
} w = {
	{ .abi_version = VMC_DRIVER_ABI_VERSION,
	  .struct_size = STRUCT_SIZE,
	  .name = NAME, .description = "old-ABI test plugin",
	  .extension = "old", .probe = probe, .open = op, .close = cl,
	  .pread = rd,
#if OLD_LAYOUT >= 2
	  .create = cr, .pwrite = wr, .pwrite_zeroes = wz, .flush = fl,
#endif
	},
	{ [0 ... sizeof(struct vmc_driver) - 1] = 0xa5 },
};
const struct vmc_driver *VMC_PLUGIN_ENTRY(void);
__attribute__((visibility("default")))
const struct vmc_driver *VMC_PLUGIN_ENTRY(void)
{ return (const struct vmc_driver *)&w.d; }
C
build() {	# build NAME LAYOUT STRUCT_SIZE
	cc -shared -fPIC -Wall -I"$VMCONV_TOP/include" -DOLD_LAYOUT=$2 \
		-DSTRUCT_SIZE="$3" -DNAME="\"$1\"" \
		-o "$T/plugins/$1.so" "$T/old.c" || fail "building $1"
}
build oldro 1 'sizeof(struct old_driver)'
build oldrw 2 'sizeof(struct old_driver)'
build tooshort 1 'offsetof(struct old_driver, pread)'
export VMCONV_PLUGIN_PATH="$T/plugins"
"$VMCONV" formats > "$T/f" 2> "$T/w" || fail "formats"
cat "$T/f" "$T/w"
grep -Eq '^oldro +r- ' "$T/f" ||
	fail "the read-only old plugin is not listed (or listed writable)"
grep -Eq '^oldrw +rw ' "$T/f" || fail "the writable old plugin is not listed rw"
grep -q 'tooshort.so: plugin driver struct of' "$T/w" ||
	fail "a struct shorter than pread was not refused"
grep -q '^tooshort' "$T/f" && fail "the too-short plugin was loaded"

# read through the pread-only plugin (no block_status: all data)
{ printf 'OLDABI!!'; head -c 1M /dev/urandom; head -c 1M /dev/zero; } > "$T/d.old"
tail -c +9 "$T/d.old" > "$T/want.raw"
run "$VMCONV" info "$T/d.old" > "$T/i" || fail "info"
grep -q 'file format: oldro' "$T/i" || fail "probe: $(cat "$T/i")"
run "$VMCONV" convert -f oldro -O raw "$T/d.old" "$T/d.raw" || fail "convert from oldro"
cmp "$T/want.raw" "$T/d.raw" || fail "content read through oldro"
run "$VMCONV" map -f oldro "$T/d.old" || fail "map without block_status"
run "$VMCONV" check -f oldro "$T/d.old"; rc=$?
[ $rc -eq 63 ] || fail "check without a check callback: exit $rc (qemu-img's 63 expected)"
expect_exit 1 "$VMCONV" convert -O oldro "$T/want.raw" "$T/x.old"
[ -e "$T/x.old" ] && fail "a refused conversion left its target"

# write through the older writable layout, read back with qemu-img
run "$VMCONV" convert -O oldrw "$T/want.raw" "$T/w.old" || fail "convert to oldrw"
[ "$(head -c 8 "$T/w.old")" = 'OLDABI!!' ] || fail "oldrw header"
run "$VMCONV" convert -f oldrw -O qcow2 "$T/w.old" "$T/w.qcow2" || fail "oldrw -> qcow2"
qemu-img compare "$T/want.raw" "$T/w.qcow2" || fail "content through oldrw"
run "$VMCONV" info -f oldrw "$T/w.old" || fail "info without an info callback"
exit 0
