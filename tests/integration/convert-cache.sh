# -t CACHE (qemu-img's names) on convert and on the one-shot form: the
# default writeback starts the write-back while converting
# (sync_file_range) and flushes (fdatasync/fsync) before the rename;
# unsafe makes no sync call at all (the kernel writes back, as for
# qemu-img); none/writethrough/directsync are
# taken as the durable default (no O_DIRECT); bad names are refused.  Every output is checked against the source with
# qemu-img compare, and --output=json reports the mode used.
. "$(dirname "$0")/lib.sh"
requires qemu-img strace jq

# 40 MiB of data (several 8 MiB write-back steps) in 96 MiB
truncate -s 96M "$T/src.raw"
head -c 40M /dev/urandom |
	dd of="$T/src.raw" bs=1M seek=8 conv=notrunc status=none

# syscalls FILE: the sync calls an strace log holds, one per line
syscalls() {
	grep -oE '^[0-9]+ +(fdatasync|fsync|sync_file_range)\(' "$1" |
		grep -oE '(fdatasync|fsync|sync_file_range)' | sort -u |
		tr '\n' ' '
}
# waits FILE: the calls in an strace log that wait for the disk
waits() {
	grep -E '^[0-9]+ +(fdatasync|fsync)\(|sync_file_range\(.*WAIT' "$1" |
		head -3
}

for fmt in raw qcow2 vhdx vmdk vpc; do
	"$VMCONV" formats | grep -qw "$fmt" || fail "no $fmt driver"
	for mode in default writeback none unsafe; do
		out=$T/out-$mode.$fmt
		opt=(); [ $mode = default ] || opt=(-t $mode)
		traced strace -f -o "$T/trace" -e trace=fdatasync,fsync,sync_file_range \
			"$VMCONV" convert "${opt[@]}" -O $fmt --output=json \
			"$T/src.raw" "$out" > "$T/json" ||
			fail "$fmt -t $mode: convert failed"
		got=$(syscalls "$T/trace")
		echo "$fmt $mode: $got"
		want=writeback; [ $mode = unsafe ] && want=unsafe
		[ "$(jq -r .cache "$T/json")" = $want ] ||
			fail "$fmt $mode: JSON cache is $(jq -r .cache "$T/json")"
		if [ $mode = unsafe ]; then
			[ -z "$got" ] || fail "$fmt -t unsafe made sync calls: $got"
			[ "$(jq -r .durable "$T/json")" = false ] ||
				fail "$fmt -t unsafe: durable is not false"
		else
			for c in sync_file_range fsync; do
				[[ " $got" == *" $c "* ]] ||
					fail "$fmt $mode: no $c ($got)"
			done
			[ "$(jq -r .durable "$T/json")" = true ] ||
				fail "$fmt $mode: durable is not true"
		fi
		run qemu-img compare -q -f raw "$T/src.raw" "$out" ||
			fail "$fmt -t $mode: output differs from the source"
	done
done

# the one-shot form takes -t too
traced strace -f -o "$T/trace" -e trace=fdatasync,fsync,sync_file_range \
	"$VMCONV" "$T/src.raw" --to qcow2 --out "$T/one.qcow2" -t unsafe \
	--no-inject -q --output=json > "$T/json" || fail "one-shot -t unsafe failed"
[ -z "$(waits "$T/trace")" ] || fail "one-shot -t unsafe waited for the disk"
run qemu-img compare -q "$T/src.raw" "$T/one.qcow2" || fail "one-shot output differs"

# writes reach the kernel in aligned pieces of at most 256 KiB (common/io.c:
# larger ones ask for large page-cache folios, slow where the host
# reclaims free memory)
traced strace -f -o "$T/trace" -e trace=pwrite64 \
	"$VMCONV" convert -O raw "$T/src.raw" "$T/pieces.raw" || fail "convert failed"
big=$(grep -oE 'pwrite64\([0-9]+, .*, ([0-9]+), ([0-9]+)\) += [0-9]+' "$T/trace" |
	awk -F', ' '{ n = $(NF-1); o = $NF + 0; if (n > 262144 ||
		int(o / 262144) != int((o + n - 1) / 262144)) print }' | head -1)
[ -z "$big" ] || fail "a write larger than 256 KiB or across a 256 KiB boundary: $big"
grep -q 'pwrite64(' "$T/trace" || fail "no pwrite64 traced"

for bad in bogus direct ""; do
	expect_exit 1 "$VMCONV" convert -t "$bad" -O qcow2 "$T/src.raw" "$T/bad.qcow2"
	[ ! -e "$T/bad.qcow2" ] || fail "-t '$bad' left an output"
	expect_exit 1 "$VMCONV" "$T/src.raw" --to qcow2 --out "$T/bad.qcow2" -t "$bad"
done
"$VMCONV" convert -t bogus -O raw "$T/src.raw" "$T/bad.raw" 2>&1 |
	grep -q "not 'bogus'" || fail "-t bogus: no message naming it"
echo "ok"
