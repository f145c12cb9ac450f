# A format plugin built outside the tree loads from VMCONV_PLUGIN_PATH and
# works; one with a wrong ABI version is refused with a warning.
. "$(dirname "$0")/lib.sh"
requires cc

mkdir "$T/plugins"
cat > "$T/rev.c" <<'C'
/* A toy read-only format: "REVTEST!" then the disk bytes. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vmconv/plugin.h>
struct st { int fd; };
static int probe(const uint8_t *b, size_t n, const char *f)
{ return n >= 8 && !memcmp(b, "REVTEST!", 8) ? 100 : 0; }
static int op(struct vmc_image *img, const char *fn, struct vmc_opts *o,
	      struct vmc_error *err)
{
	struct st *s = malloc(sizeof(*s)); struct stat sb;
	s->fd = open(fn, O_RDONLY);
	if (s->fd < 0) { free(s); return vmc_error_errno(err, 2, "%s: cannot open", fn); }
	fstat(s->fd, &sb); img->size = sb.st_size - 8; img->opaque = s; return 0;
}
static void cl(struct vmc_image *img) { struct st *s = img->opaque; close(s->fd); free(s); }
static int rd(struct vmc_image *img, void *buf, size_t len, uint64_t off,
	      struct vmc_error *err)
{ struct st *s = img->opaque; return vmc_pread_full(s->fd, buf, len, off + 8, img->filename, err); }
static const struct vmc_driver drv = { VMC_DRIVER_INIT, .name = "revtest",
	.description = "test plugin", .probe = probe, .open = op, .close = cl,
	.pread = rd };
VMC_REGISTER_PLUGIN(drv)
C
cc -shared -fPIC -I"$VMCONV_TOP/include" -o "$T/plugins/revtest.so" "$T/rev.c" || fail "plugin build"
sed 's/VMC_DRIVER_INIT/.abi_version = 99, .struct_size = sizeof(struct vmc_driver)/;s/"revtest"/"badabi"/' \
	"$T/rev.c" > "$T/bad.c"
cc -shared -fPIC -I"$VMCONV_TOP/include" -o "$T/plugins/badabi.so" "$T/bad.c" || fail "plugin build"
export VMCONV_PLUGIN_PATH="$T/plugins"
"$VMCONV" formats > "$T/f" 2> "$T/w"
cat "$T/f" "$T/w"
grep -q '^revtest ' "$T/f" || fail "plugin not listed"
grep -q 'badabi.so: plugin ABI version 99' "$T/w" || fail "bad ABI not reported"
grep -q '^badabi' "$T/f" && fail "bad ABI plugin loaded"

{ printf 'REVTEST!'; head -c 1M /dev/urandom; } > "$T/d.rev"
run "$VMCONV" info "$T/d.rev" | grep -q 'file format: revtest' || fail "probe"
run "$VMCONV" convert -O raw "$T/d.rev" "$T/d.raw" || fail convert
tail -c +9 "$T/d.rev" | cmp - "$T/d.raw" || fail "content"
exit 0
