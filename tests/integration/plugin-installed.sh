# The VHD plugin builds against the installed public headers alone (no
# -I of the source tree), and the installed vmconv, which exports only
# cli/vmconv.syms, loads it and converts a VHD that qemu-img wrote.
. "$(dirname "$0")/lib.sh"
requires cc qemu-img pkg-config nm

inst="$T/inst"
run make -s -C "$VMCONV_TOP" BUILD="$VMCONV_BUILD" DESTDIR="$inst" \
	PREFIX=/usr/local install || fail "make install"
inc="$inst/usr/local/include"
[ -f "$inc/vmconv/driver.h" ] || fail "vmconv/driver.h not installed"
mkdir "$T/src" "$T/plugins"
cp "$VMCONV_TOP"/plugins/vhd/*.c "$VMCONV_TOP"/plugins/vhd/*.h "$T/src/"
# Only the installed headers and the system's: a private header that the
# plugin still used would fail here.
run cc -std=gnu11 -Wall -Wextra -Wno-unused-parameter -O2 -fPIC -shared \
	-D_FILE_OFFSET_BITS=64 -I"$inc" $(pkg-config --cflags jansson) \
	-Wl,--version-script="$VMCONV_TOP/plugins/plugin.map" \
	-o "$T/plugins/vhd.so" "$T"/src/*.c -lz || fail "plugin build"

# The binary's dynamic symbol table holds the export list and no more.
bin="$inst/usr/local/bin/vmconv"
nm -D --defined-only "$bin" | awk '$2 == "T" { print $3 }' |
	grep '^vmc_' | sort > "$T/exported"
sed -n 's/^\t\(vmc_[a-z0-9_]*\);$/\1/p' "$VMCONV_TOP/cli/vmconv.syms" |
	sort > "$T/listed"
diff "$T/listed" "$T/exported" || fail "exports differ from cli/vmconv.syms"
nm -D --defined-only "$bin" | grep -q ' vmc_convert_engine\| vmc_validate$' &&
	fail "internal symbols exported"

export VMCONV_PLUGIN_PATH="$T/plugins"
"$bin" formats > "$T/f" 2> "$T/w"
cat "$T/w"
grep -q '^vhd\b' "$T/f" || fail "installed vmconv did not load the plugin"
[ -s "$T/w" ] && fail "plugin warnings"

head -c 3M /dev/urandom > "$T/d.raw"
truncate -s 8M "$T/d.raw"
run qemu-img convert -f raw -O vpc -o subformat=dynamic "$T/d.raw" \
	"$T/d.vhd" || fail "qemu-img convert"
run "$bin" convert -O raw "$T/d.vhd" "$T/back.raw" || fail "vmconv convert"
run qemu-img compare -f raw -F vpc "$T/back.raw" "$T/d.vhd" || fail "content"
exit 0
