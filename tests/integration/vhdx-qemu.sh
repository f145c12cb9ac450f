#!/bin/bash
# VHDX with qemu-img as the oracle, both ways: images qemu-img writes are
# read bit-exact by vmconv; images vmconv writes pass qemu-img check and
# read identically through qemu-img (qemu-img compare).
. "$(dirname "$0")/lib.sh"
requires qemu-img qemu-io cmp tr

# A sparse source over 4 GiB with data at the start, around block and
# chunk boundaries and past 4 GiB (so 1 MiB blocks cross the sector-bitmap
# entry of the BAT) and in the last sector.  Each run is one byte value,
# so that qemu-io can check it without reading 4 GiB of holes (qemu's
# VHDX driver reports no holes to qemu-img compare).
src=$T/src.raw
truncate -s 4200M "$src"
mibs="0 1 31 32 4095 4096 4097 4150"
i=0
for mib in $mibs; do
	i=$((i + 1))
	head -c 300000 /dev/zero | tr '\0' "\\$(printf %03o $((16 + i)))" |
		dd of="$src" bs=1M seek=$mib conv=notrunc status=none
done
head -c 512 /dev/zero | tr '\0' '\167' |
	dd of="$src" bs=512 seek=$((4200 * 2048 - 1)) conv=notrunc status=none
# qemu-io reads of every run, the holes after them, and the last sector
qemu_check_big() {
	local img=$1 i=0 cmds=()
	for mib in $mibs; do
		i=$((i + 1))
		cmds+=(-c "read -q -P $((16 + i)) $((mib * 1048576)) 300000")
		cmds+=(-c "read -q -P 0 $((mib * 1048576 + 300000)) 748576")
	done
	cmds+=(-c "read -q -P 0x77 $((4200 * 1048576 - 512)) 512")
	cmds+=(-c "read -q -P 0 $((4151 * 1048576)) 1048576")
	qemu-io -r -f vhdx "${cmds[@]}" "$img" >"$T/qio" 2>&1
	! grep -q . "$T/qio" || { cat "$T/qio"; return 1; }
}

# A small random source for the many variants.
small=$T/small.raw
head -c 40M /dev/urandom >"$small"
dd if=/dev/zero of="$small" bs=64k seek=17 count=1 conv=notrunc status=none
truncate -s 300M "$small"
head -c 100000 /dev/urandom | dd of="$small" bs=1M seek=299 conv=notrunc \
	status=none

# qemu-img writes, vmconv reads
for o in "subformat=dynamic,block_size=1M" "subformat=dynamic,block_size=8M" \
	 "subformat=fixed,block_size=32M" \
	 "subformat=dynamic,block_size=256M,log_size=8M" \
	 "subformat=dynamic,block_state_zero=off" \
	 "BIG subformat=dynamic,block_size=1M"; do
	s=$small
	case $o in BIG\ *) o=${o#BIG }; s=$src;; esac
	rm -f "$T/q.vhdx" "$T/v.raw"
	run qemu-img convert -f raw -O vhdx -o "$o" "$s" "$T/q.vhdx" ||
		fail "qemu-img convert -o $o"
	run "$VMCONV" convert -O raw "$T/q.vhdx" "$T/v.raw" ||
		fail "vmconv cannot read qemu's VHDX ($o)"
	# sparse-aware byte comparison of the two raw files
	qemu-img compare -q -f raw -F raw "$s" "$T/v.raw" ||
		fail "vmconv read qemu's VHDX ($o) wrong"
	"$VMCONV" compare "$s" "$T/q.vhdx" || fail "vmconv compare ($o)"
	same_sizes_as_qemu "$T/q.vhdx"
	run "$VMCONV" check "$T/q.vhdx" || fail "vmconv check on qemu's ($o)"
done

# vmconv writes, qemu-img reads
for o in "BIG subformat=dynamic,block_size=1M" \
	 "BIG subformat=fixed,block_size=1M" \
	 "subformat=dynamic,block_size=32M" "subformat=fixed" \
	 "block_size=256M,log_size=4M" "subformat=dynamic,block_size=2M"; do
	s=$small
	case $o in BIG\ *) o=${o#BIG }; s=$src;; esac
	rm -f "$T/v.vhdx"
	run "$VMCONV" convert -O vhdx -o "$o" "$s" "$T/v.vhdx" ||
		fail "vmconv convert -o $o"
	run qemu-img check -f vhdx "$T/v.vhdx" || fail "qemu-img check ($o)"
	run "$VMCONV" check "$T/v.vhdx" || fail "vmconv check ($o)"
	same_sizes_as_qemu "$T/v.vhdx"
	if [ "$s" = "$src" ]; then
		qemu_check_big "$T/v.vhdx" || fail "qemu-io reads ($o)"
		continue
	fi
	run qemu-img compare -f raw -F vhdx "$s" "$T/v.vhdx" ||
		fail "qemu-img compare ($o)"
	"$VMCONV" compare "$s" "$T/v.vhdx" || fail "vmconv compare ($o)"
done

# The fixed image has every block; the dynamic one only those with data.
"$VMCONV" convert -O vhdx -o subformat=dynamic,block_size=1M "$src" \
	"$T/d.vhdx" || fail "dynamic"
# exactly the 1 MiB blocks that hold the source's runs (MiBs $mibs and the
# last one) are allocated: qemu-img map cannot tell (qemu's VHDX driver
# maps everything as data), so the BAT is read by a parser of its own
python3 "$(dirname "$0")/vhdi-oracle.py" --blocks "$T/d.vhdx" >"$T/map" ||
	fail "BAT of d.vhdx"
printf '%s\n' "0 2" "31 2" "4095 3" "4150 1" "4199 1" | diff - "$T/map" ||
	fail "the dynamic VHDX holds other blocks than the data's"
[ "$(stat -c %s "$T/d.vhdx")" -lt $((64 * 1024 * 1024)) ] ||
	fail "dynamic VHDX allocated blocks of zeros"

# A sparse fixed image: its holes are reported as zeros, not data
"$VMCONV" convert -O vhdx -o subformat=fixed,block_size=1M "$small" \
	"$T/f.vhdx" || fail "fixed"
"$VMCONV" map "$T/f.vhdx" | grep -q ' zero$' || fail "fixed: no zero runs"

# info names the properties, qemu-img agrees on size and block size
"$VMCONV" info --output=json "$T/d.vhdx" >"$T/info.json" || fail info
for k in '"subformat": "dynamic"' '"block-size": 1048576' \
	 '"logical-sector-size": 512' '"log": "clean"' '"type": "vhdx"'; do
	grep -q "$k" "$T/info.json" || fail "info lacks $k"
done
qemu-img info --output=json "$T/d.vhdx" |
	grep -q '"virtual-size": 4404019200' ||
	fail "qemu-img sees another size"

# 4096-byte logical sectors: qemu-img 7.2 refuses such images ("Operation
# not supported"), so libvhdi is the second reader here.
run "$VMCONV" convert -O vhdx -o logical_sector_size=4096,block_size=1M \
	"$src" "$T/4k.vhdx" || fail "4k convert"
"$VMCONV" compare "$src" "$T/4k.vhdx" || fail "4k compare"
PY=$(vhdi_python) || skip "python3-libvhdi is not installed"
rm -f "$T/4k.raw"
run "$VMCONV" convert -O raw "$T/4k.vhdx" "$T/4k.raw" || fail "4k read"
run "$PY" "$(dirname "$0")/vhdi-oracle.py" "$T/4k.vhdx" "$T/4k.raw" ||
	fail "libvhdi reads the 4k VHDX otherwise"
cmp "$T/4k.raw" "$src" || fail "4k VHDX read back differs from the source"
"$PY" -c 'import pyvhdi, sys; f = pyvhdi.file(); f.open(sys.argv[1]); sys.exit(f.bytes_per_sector != 4096)' \
	"$T/4k.vhdx" || fail "libvhdi does not see 4096-byte sectors"
"$VMCONV" info --output=json "$T/4k.vhdx" |
	grep -q '"logical-sector-size": 4096' ||
	fail "4k info"

# A source that is not whole sectors grows to the next sector
head -c 1000003 /dev/urandom >"$T/odd.raw"
"$VMCONV" convert -O vhdx "$T/odd.raw" "$T/odd.vhdx" || fail "odd size"
qemu-img compare -q -f raw -F vhdx "$T/odd.raw" "$T/odd.vhdx" ||
	fail "odd size: content"

# Bad options are refused by name
expect_exit 1 "$VMCONV" convert -O vhdx -o block_size=3M "$src" "$T/x.vhdx"
expect_exit 1 "$VMCONV" convert -O vhdx -o log_size=100k "$src" "$T/x.vhdx"
expect_exit 1 "$VMCONV" convert -O vhdx -o subformat=sparse "$src" "$T/x.vhdx"
[ ! -e "$T/x.vhdx" ] || fail "a failed convert left a file"
echo ok
