# create -f vhdx, and raw -o preallocation=off|falloc|full (create and
# convert), each against what qemu-img makes with the same options.
. "$(dirname "$0")/lib.sh"
requires qemu-img qemu-io jq du stat

# create -f vhdx: an image qemu-img reads, checks clean and writes into
for sub in dynamic fixed; do
	img="$T/$sub.vhdx"
	run "$VMCONV" create -f vhdx -o subformat=$sub "$img" 64M ||
		fail "create -f vhdx -o subformat=$sub"
	qemu-img create -q -f vhdx -o subformat=$sub "$T/q-$sub.vhdx" 64M ||
		fail "qemu-img create"
	qemu-img info --output=json "$img" > "$T/i.json" || fail "qemu-img info $sub"
	cat "$T/i.json"
	jq -e '.format == "vhdx" and ."virtual-size" == 67108864' "$T/i.json" \
		> /dev/null || fail "$sub: qemu-img info"
	# the block size vmconv says it wrote is the one qemu-img reads
	# (vmconv's default is Hyper-V's 32 MiB, qemu-img's 8 MiB here)
	[ "$(jq '."cluster-size"' "$T/i.json")" = \
	  "$("$VMCONV" info --output=json "$img" | jq '."cluster-size"')" ] ||
		fail "$sub: qemu-img and vmconv read different block sizes"
	qemu-img check "$img" || fail "$sub: qemu-img check"
	if [ $sub = fixed ]; then
		[ "$(stat -c %s "$img")" -ge 67108864 ] ||
			fail "fixed vhdx of $(stat -c %s "$img") bytes"
	fi
	# an empty disk, then what qemu writes into it
	qemu-img compare "$img" "$T/q-$sub.vhdx" || fail "$sub: not empty"
	qemu-io -f vhdx -c 'write -P 0x33 1M 3M' -c 'write -P 0x44 60M 64k' \
		"$img" > /dev/null || fail "$sub: qemu-io write"
	qemu-img check "$img" || fail "$sub: qemu-img check after writes"
	qemu-io -f vhdx -c 'read -P 0x33 1M 3M' -c 'read -P 0 0 1M' \
		"$img" | grep -q 'read 3145728/' || fail "$sub: qemu-io read back"
	"$VMCONV" convert -O raw "$img" "$T/$sub.raw" || fail "$sub: convert"
	qemu-img convert -O raw "$img" "$T/q-$sub.raw" || fail "qemu-img convert"
	cmp "$T/$sub.raw" "$T/q-$sub.raw" || fail "$sub: vmconv reads it otherwise"
done
run "$VMCONV" create -f vhdx -o block_size=8M "$T/b8.vhdx" 32M || fail "block_size"
[ "$(qemu-img info --output=json "$T/b8.vhdx" | jq '."cluster-size"')" = 8388608 ] ||
	fail "block_size=8M not what qemu-img reads"
qemu-img check "$T/b8.vhdx" || fail "block_size=8M: check"
expect_exit 1 "$VMCONV" create -f vhdx -o block_size=3M "$T/bad.vhdx" 32M
[ -e "$T/bad.vhdx" ] && fail "a refused create left its file"

# raw preallocation: blocks allocated (du) and the runs qemu-img maps.
# qemu-img create writes the first 4 KiB itself; compare from there on.
kb() { du -k "$1" | cut -f1; }
runs() { qemu-img map -f raw --output=json "$1" |
	jq -c '[.[] | select(.start >= 4096 or .start + .length > 4096) |
		{data, zero}] | unique'; }
for p in off falloc full; do
	run "$VMCONV" create -f raw -o preallocation=$p "$T/v-$p.raw" 16M ||
		fail "create preallocation=$p"
	qemu-img create -q -f raw -o preallocation=$p "$T/q-$p.raw" 16M ||
		fail "qemu-img create"
	[ "$(stat -c %s "$T/v-$p.raw")" = 16777216 ] || fail "$p: size"
	echo "create $p: du $(kb "$T/v-$p.raw") KiB (qemu-img $(kb "$T/q-$p.raw")), runs $(runs "$T/v-$p.raw")"
	case $p in
	off) [ "$(kb "$T/v-$p.raw")" -le 4 ] || fail "off: blocks allocated";;
	*) [ "$(kb "$T/v-$p.raw")" -ge 16384 ] || fail "$p: not allocated";;
	esac
	[ "$(runs "$T/v-$p.raw")" = "$(runs "$T/q-$p.raw")" ] ||
		fail "$p: runs $(runs "$T/v-$p.raw"), qemu-img's $(runs "$T/q-$p.raw")"
done
for p in off falloc full; do
	cmp "$T/v-$p.raw" "$T/q-$p.raw" || fail "$p: content"
done
# convert: 2 MiB of data, 2 MiB of zeros, 12 MiB hole
truncate -s 16M "$T/src.raw"
head -c 2M /dev/urandom | dd of="$T/src.raw" conv=notrunc status=none
dd if=/dev/zero of="$T/src.raw" bs=1M seek=2 count=2 conv=notrunc status=none
for p in off falloc full; do
	run "$VMCONV" convert -O raw -o preallocation=$p "$T/src.raw" \
		"$T/c-$p.raw" || fail "convert preallocation=$p"
	qemu-img convert -O raw -o preallocation=$p "$T/src.raw" "$T/qc-$p.raw" ||
		fail "qemu-img convert"
	# (map before reading the file: ext4 reports an unwritten extent
	# whose pages are in the page cache as data)
	v=$(qemu-img map -f raw --output=json "$T/c-$p.raw" | jq -c '[.[] | {start, length, data}]')
	q=$(qemu-img map -f raw --output=json "$T/qc-$p.raw" | jq -c '[.[] | {start, length, data}]')
	echo "convert $p: du $(kb "$T/c-$p.raw") KiB (qemu-img $(kb "$T/qc-$p.raw")), map $v"
	[ "$v" = "$q" ] || fail "convert $p: map $v, qemu-img's $q"
	cmp "$T/src.raw" "$T/c-$p.raw" || fail "$p: content"
	case $p in
	off) [ "$(kb "$T/c-$p.raw")" -le 2100 ] || fail "off: holes filled";;
	*) [ "$(kb "$T/c-$p.raw")" -ge 16384 ] || fail "$p: not allocated";;
	esac
done
expect_exit 1 "$VMCONV" create -f raw -o preallocation=metadata "$T/m.raw" 1M

# -o help: the driver tables' create options, every one a key qemu-img
# knows for the same format (but for vmconv's own: compression_level,
# the VHDX sector sizes, raw's preallocation, which qemu-img lists for
# the file protocol), and the man page's FORMAT OPTIONS are the same list
for f in raw qcow2 vmdk vhdx vhd; do
	q=$f; [ $f = vhd ] && q=vpc
	keys=$("$VMCONV" create -f $f -o help | sed -n 's/^  \([a-z0-9_]*\)=<.*/\1/p')
	[ -n "$keys" ] || fail "create -f $f -o help lists nothing"
	[ "$("$VMCONV" convert -O $f -o help)" = "$("$VMCONV" create -f $f -o help)" ] ||
		fail "convert -O $f -o help differs from create's"
	qkeys=" $(qemu-img create -f $q -o help | sed -n 's/^  \([a-z0-9_]*\)=.*/\1/p' | tr '\n' ' ') "
	for k in $keys; do
		case "$f:$k" in
		qcow2:compression_level|vhdx:*_sector_size|raw:preallocation)
			continue;;
		esac
		case $qkeys in *" $k "*) ;; *) fail "$f: -o help lists $k, qemu-img does not ($qkeys)";; esac
	done
done
check_err 1 "option cluster_size: 'big' is not a size" \
	"$VMCONV" create -f qcow2 -o cluster_size=big "$T/o.qcow2" 1M
check_err 1 "option subformat must be one of dynamic, fixed, not 'sparse'" \
	"$VMCONV" convert -O vhdx -o subformat=sparse "$T/src.raw" "$T/o.vhdx"
[ ! -e "$T/o.qcow2" ] && [ ! -e "$T/o.vhdx" ] || fail "a refused -o left a file"
"$VMCONV_TOP/scripts/format-options" --check || fail "man page out of date"
exit 0
