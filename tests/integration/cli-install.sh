# make install DESTDIR=...: the installed vmconv finds its plugins in
# ../lib/vmconv/plugins beside its bin folder (wherever the tree is moved
# to), converts a VHD with them, and the installed headers build a plugin.
. "$(dirname "$0")/lib.sh"
requires make qemu-img cc

build=${VMCONV_BUILD#"$VMCONV_TOP"/}
run make -s -C "$VMCONV_TOP" BUILD="$build" install DESTDIR="$T/root" \
	PREFIX=/usr/local > "$T/make.log" 2>&1 ||
	{ cat "$T/make.log"; fail "make install"; }
r="$T/root/usr/local"
for f in bin/vmconv lib/libvmconv.a lib/libvmconv.so.0 lib/libvmconv.so \
	 include/vmconv/plugin.h include/vmconv/image.h \
	 share/man/man1/vmconv.1 lib/vmconv/plugins/vhd.so; do
	[ -e "$r/$f" ] || fail "make install did not install $f"
done
cmp "$VMCONV_TOP/doc/vmconv.1" "$r/share/man/man1/vmconv.1" || fail "man page"

# move the installed tree: the binary must find the plugins by its own
# place, not through the build tree or the compiled-in folder
mv "$T/root/usr/local" "$T/elsewhere"
r="$T/elsewhere"
unset VMCONV_PLUGIN_PATH
(cd / && LD_DEBUG=files "$r/bin/vmconv" formats) > "$T/f" 2> "$T/ld" ||
	fail "installed vmconv formats"
cat "$T/f"
grep -q '^vhd, vpc *rw ' "$T/f" || fail "the installed vmconv lacks the vhd plugin"
loaded=$(sed -n 's/.*file=\([^ ]*vhd\.so\) .*dynamically loaded.*/\1/p' "$T/ld" | head -1)
echo "vhd plugin loaded from $loaded"
[ -n "$loaded" ] && [ "$(realpath "$loaded")" = "$(realpath "$r/lib/vmconv/plugins/vhd.so")" ] ||
	fail "vhd.so loaded from '$loaded', not the installed plugin folder"

head -c 3M /dev/urandom > "$T/d.raw"
truncate -s 8M "$T/d.raw"
qemu-img convert -O vpc "$T/d.raw" "$T/d.vhd" || fail "qemu-img -O vpc"
run "$r/bin/vmconv" convert -O qcow2 "$T/d.vhd" "$T/d.qcow2" ||
	fail "installed vmconv: convert a vhd"
qemu-img compare -f vpc -F qcow2 "$T/d.vhd" "$T/d.qcow2" || fail "vhd content"
run "$r/bin/vmconv" "$T/d.raw" --to vhd --out "$T/o.vhd" -q ||
	fail "installed vmconv: write a vhd"
qemu-img compare -f raw -F vpc "$T/d.raw" "$T/o.vhd" || fail "written vhd"

# a plugin built against the installed headers alone loads into it
cat > "$T/p.c" <<'C'
#include <string.h>
#include <vmconv/plugin.h>
static int probe(const uint8_t *b, size_t n, const char *f) { return 0; }
static int op(struct vmc_image *i, const char *f, struct vmc_opts *o,
	      struct vmc_error *e) { return vmc_error_set(e, 95, "no"); }
static void cl(struct vmc_image *i) { }
static int rd(struct vmc_image *i, void *b, size_t l, uint64_t o,
	      struct vmc_error *e) { return -1; }
static const struct vmc_driver d = { VMC_DRIVER_INIT, .name = "hdrtest",
	.description = "built against installed headers", .probe = probe,
	.open = op, .close = cl, .pread = rd };
VMC_REGISTER_PLUGIN(d)
C
cc -shared -fPIC -Wall -I"$r/include" -o "$r/lib/vmconv/plugins/hdrtest.so" \
	"$T/p.c" || fail "plugin build against the installed headers"
"$r/bin/vmconv" formats | grep -q '^hdrtest ' || fail "hdrtest plugin not loaded"
exit 0
