# vmconv measure: qemu-img's numbers for raw and qcow2 (within 10%; the
# formula is qemu's), and for every writable format and option set never
# less than the files `vmconv convert` then writes (all files of the
# image: VMDK descriptors and extents included), nor than `vmconv create`
# writes for --size.
. "$(dirname "$0")/lib.sh"
requires qemu-img qemu-io jq

sparse=$T/sparse.raw
run qemu-img create -f raw "$sparse" 256M >/dev/null
qemu-io -f raw -c 'write -P 0x11 0 64k' -c 'write -P 0x22 100M 1M' \
	-c 'write -P 0x33 255M 1M' -c 'write -P 0x44 3000k 5k' \
	"$sparse" >/dev/null || fail qemu-io
run qemu-img convert -f raw -O qcow2 "$sparse" "$T/sparse.qcow2"
head -c 8M /dev/urandom > "$T/full.raw"
run qemu-img create -f qcow2 "$T/empty.qcow2" 1G >/dev/null

# Sum of the sizes of every file of the image in folder $1: their
# lengths, except for preallocation=metadata, whose file is as long as
# the disk but sparse (qemu-img's required leaves the holes out too),
# where it is the bytes allocated on disk, less the one file-system block
# that holds the file's last byte (vmconv writes it to set the length).
files_size() {
	case "${2:-}" in
	*preallocation=metadata*)
		echo $(( $(du -B1 -c "$1"/* | tail -1 | cut -f1) - 4096 ));;
	*) du -b --apparent-size -c "$1"/* | tail -1 | cut -f1;;
	esac
}

within10() {	# what, vmconv's, qemu-img's
	local d=$(( $2 > $3 ? $2 - $3 : $3 - $2 ))
	echo "$1: vmconv $2, qemu-img $3"
	[ $(( d * 10 )) -le "$3" ] || fail "$1: $2 not within 10% of $3"
}

# The oracle where it has a figure.
for src in "$sparse" "$T/sparse.qcow2" "$T/full.raw" "$T/empty.qcow2"; do
	for o in "-O raw" "-O qcow2" "-O qcow2 -o cluster_size=4k" \
		 "-O qcow2 -o refcount_bits=1,compat=0.10" \
		 "-O qcow2 -o cluster_size=2M,preallocation=falloc"; do
		case "$o" in *compat=0.10*) o="-O qcow2 -o compat=0.10";; esac
		q=$(qemu-img measure --output=json $o "$src") || fail "qemu-img measure $o $src"
		v=$("$VMCONV" measure --output=json $o "$src") || fail "vmconv measure $o $src"
		for k in required fully-allocated; do
			within10 "$o $(basename "$src") $k" \
				"$(jq ".\"$k\"" <<<"$v")" "$(jq ".\"$k\"" <<<"$q")"
		done
		[ "$(jq -S 'keys' <<<"$q")" = "$(jq -S 'keys' <<<"$v")" ] ||
			fail "$o $src: keys differ: $q / $v"
	done
done
for s in 1G 100M 7777777; do
	q=$(qemu-img measure --output=json -O qcow2 --size $s | jq -c -S .)
	v=$("$VMCONV" measure --output=json -O qcow2 --size $s | jq -c -S .)
	[ "$q" = "$v" ] || fail "--size $s: $v, qemu-img $q"
done

# Never below what vmconv writes.
i=0
check_fmt() {	# FMT EXT OPTS...
	local fmt=$1 ext=$2; shift 2
	local opts=() req full got
	[ $# -gt 0 ] && opts=(-o "$1")
	for src in "$sparse" "$T/sparse.qcow2" "$T/full.raw" \
		   "$T/empty.qcow2"; do
		i=$((i + 1)); mkdir "$T/o$i"
		"$VMCONV" convert -O "$fmt" "${opts[@]}" "$src" \
			"$T/o$i/out.$ext" >/dev/null || fail "convert $fmt $* $src"
		m=$("$VMCONV" measure --output=json -O "$fmt" "${opts[@]}" \
			"$src") || fail "measure $fmt $*"
		req=$(jq .required <<<"$m"); full=$(jq '."fully-allocated"' <<<"$m")
		got=$(files_size "$T/o$i" "$*")
		echo "$fmt $* $(basename "$src"): wrote $got, required $req, fully-allocated $full"
		[ "$got" -le "$req" ] || fail "$fmt $*: wrote $got > required $req"
		[ "$req" -le "$full" ] || fail "$fmt $*: required > fully-allocated"
		rm -rf "$T/o$i"
	done
	i=$((i + 1)); mkdir "$T/o$i"
	"$VMCONV" create -f "$fmt" "${opts[@]}" "$T/o$i/new.$ext" 300M \
		>/dev/null || fail "create $fmt $*"
	req=$("$VMCONV" measure --output=json -O "$fmt" "${opts[@]}" \
		--size 300M | jq .required)
	got=$(files_size "$T/o$i" "$*")
	echo "$fmt $* --size 300M: created $got, required $req"
	[ "$got" -le "$req" ] || fail "$fmt $* --size: created $got > $req"
}
check_fmt raw img
check_fmt qcow2 qcow2
check_fmt qcow2 qcow2 cluster_size=4k
check_fmt qcow2 qcow2 cluster_size=2M,refcount_bits=64
check_fmt qcow2 qcow2 compat=0.10
check_fmt qcow2 qcow2 preallocation=metadata
check_fmt qcow2 qcow2 preallocation=full
check_fmt vmdk vmdk
check_fmt vmdk vmdk subformat=monolithicFlat
check_fmt vmdk vmdk subformat=twoGbMaxExtentSparse
check_fmt vmdk vmdk subformat=twoGbMaxExtentFlat
check_fmt vmdk vmdk subformat=streamOptimized
check_fmt vmdk vmdk subformat=vmfs
check_fmt vhdx vhdx
check_fmt vhdx vhdx subformat=fixed,block_size=1M
check_fmt vhdx vhdx block_size=256M,log_size=8M,logical_sector_size=4096
check_fmt vpc vhd
check_fmt vpc vhd subformat=fixed
check_fmt vpc vhd force_size=on

# A twoGbMaxExtent disk over several extent files.
run qemu-img create -f raw "$T/big.raw" 5G >/dev/null
qemu-io -f raw -c 'write -P 1 4G 1M' "$T/big.raw" >/dev/null
mkdir "$T/big"
run "$VMCONV" convert -O vmdk -o subformat=twoGbMaxExtentSparse \
	"$T/big.raw" "$T/big/big.vmdk" >/dev/null || fail "convert big"
req=$("$VMCONV" measure --output=json -O vmdk \
	-o subformat=twoGbMaxExtentSparse "$T/big.raw" | jq .required)
got=$(files_size "$T/big")
echo "twoGbMaxExtentSparse 5G: wrote $got in $(ls "$T/big" | wc -l) files, required $req"
[ "$got" -le "$req" ] || fail "big: $got > $req"

# Errors: one line, non-zero.
expect_exit 1 "$VMCONV" measure -O qcow2 -o nonsense=1 "$sparse"
expect_exit 1 "$VMCONV" measure -O qcow2 --size 1G "$sparse"
expect_exit 1 "$VMCONV" measure -O qcow2 "$T/missing"
expect_exit 1 "$VMCONV" measure -O qcow2 --size 1Q
exit 0
