#!/bin/bash
# --digest on every format, against an independent digest: sha256sum of
# qemu-img's raw export of the same image.  Sources written by qemu-img
# (a compressed qcow2 over a backing file, VMDK sparse and
# streamOptimized, VHDX, VHD with its CHS-rounded size) and by vmconv;
# the digest is printed on a line and in the JSON summary, whatever the
# target format.
. "$(dirname "$0")/lib.sh"
requires qemu-img qemu-io sha256sum python3

cd "$T"
truncate -s 20M src.raw
for mib in 0 3 9 19; do
	head -c 300000 /dev/urandom | dd of=src.raw bs=1M seek=$mib \
		conv=notrunc status=none
done
run qemu-img convert -f raw -O qcow2 src.raw base.qcow2 || fail base
run qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 mid.qcow2 || fail mid
run qemu-io -c 'write -P 0x61 100k 64k' -c 'write -z 3M 64k' mid.qcow2 ||
	fail qemu-io
run qemu-img convert -c -O qcow2 -o compression_type=zlib -B base.qcow2 \
	-F qcow2 mid.qcow2 comp.qcow2 || fail comp
for s in vmdk:monolithicSparse vmdk:streamOptimized vhdx:dynamic \
	 vpc:dynamic vpc:fixed; do
	run qemu-img convert -f raw -O ${s%%:*} -o subformat=${s#*:} src.raw \
		"q-${s#*:}.${s%%:*}" || fail "qemu-img $s"
done
run "$VMCONV" convert -O vhdx src.raw v.vhdx || fail "vmconv vhdx"
run "$VMCONV" convert -c -O qcow2 src.raw v.qcow2 || fail "vmconv qcow2"

n=0
declare -A sums
for img in comp.qcow2 q-monolithicSparse.vmdk q-streamOptimized.vmdk \
	   q-dynamic.vhdx q-dynamic.vpc q-fixed.vpc v.vhdx v.qcow2 src.raw; do
	fmt=
	case $img in *.vpc) fmt=vpc;; esac	# a fixed VHD probes as raw
	rm -f want.raw
	qemu-img convert ${fmt:+-f $fmt} -O raw "$img" want.raw ||
		fail "qemu-img export of $img"
	want=$(sha256sum < want.raw | cut -d' ' -f1)
	for to in raw qcow2 vhdx; do
		rm -f out.$to
		out=$("$VMCONV" convert --digest -O $to "$img" out.$to) ||
			fail "convert --digest -O $to $img"
		[ "$out" = "sha256: $want" ] ||
			fail "$img -> $to: '$out', sha256sum of qemu-img's export $want"
		n=$((n + 1))
	done
	rm -f out.raw
	got=$("$VMCONV" convert --digest --output=json -O raw "$img" out.raw |
	      python3 -c 'import json, sys; print(json.load(sys.stdin)["sha256"])') ||
		fail "convert --digest --output=json $img"
	[ "$got" = "$want" ] || fail "$img: JSON sha256 $got, want $want"
	echo "$img: $want"
	sums[$img]=$want
done
# the chain's content differs from its base's, and so do the digests
[ "${sums[comp.qcow2]}" != "${sums[src.raw]}" ] ||
	fail "the chain and its base have one digest"
echo "$n digests agree with sha256sum of qemu-img's export"
