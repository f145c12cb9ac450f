#!/bin/bash
# vmconv check counts leaks and corruptions as qemu-img check does on the
# same damaged images, exits with qemu-img's codes, and --repair leaves
# images that qemu-img check finds clean.
. "$(dirname "$0")/lib.sh"
requires qemu-img qemu-io python3

D="$VMCONV_TOP/tests/integration/qcow2-damage.py"
cd "$T"
run qemu-img create -q -f qcow2 d.qcow2 16M
run qemu-io -c 'write -P 1 0 1M' -c 'write -P 2 4M 64k' d.qcow2
c=$(python3 "$D" d.qcow2 first-data) || fail "no data cluster"

counts() {	# TOOL IMG -> "leaks corruptions exit"
	local rc
	if [ "$1" = qemu ]; then
		qemu-img check --output=json "$2" > out.json 2>/dev/null; rc=$?
	else
		"$VMCONV" check --output=json "$2" > out.json; rc=$?
	fi
	python3 -c 'import json; d=json.load(open("out.json")); print(d.get("leaks", 0), d.get("corruptions", 0), end=" ")'
	echo $rc
}

damage() {	# NAME OPS...
	local name=$1; shift
	cp d.qcow2 "$name.qcow2"
	while [ $# -gt 0 ]; do
		case $1 in
		grow) python3 "$D" "$name.qcow2" grow; shift;;
		set) python3 "$D" "$name.qcow2" set "$2" "$3"; shift 3;;
		esac
	done
}

damage clean
damage leak grow
damage leak2 grow set $((c + 2)) 2
damage high set "$c" 2
damage low set $((c + 1)) 0
damage mixed grow set $((c + 3)) 0 set $((c + 5)) 3
for img in clean leak leak2 high low mixed; do
	q=$(counts qemu $img.qcow2)
	v=$(counts vmconv $img.qcow2)
	echo "$img: qemu-img '$q' vmconv '$v'"
	[ "$q" = "$v" ] || fail "$img: vmconv check counts '$v', qemu-img '$q'"
done
[ "$(counts vmconv clean.qcow2)" = "0 0 0" ] || fail "clean image not clean"
[ "$(counts vmconv leak.qcow2)" = "1 0 3" ] || fail "leak not exit 3"

for img in leak leak2 high low mixed; do
	"$VMCONV" check --repair $img.qcow2 2> repair.err
	grep -q 'in place' repair.err || fail "--repair does not say it writes"
	qemu-img check $img.qcow2 || fail "$img not clean after --repair"
	qemu-img compare d.qcow2 $img.qcow2 || fail "--repair changed $img data"
	[ "$(counts vmconv $img.qcow2)" = "0 0 0" ] || fail "$img still unclean"
done
# Without --repair nothing is written.
cp leak.qcow2 before.qcow2 2>/dev/null
damage ro grow
sum=$(md5sum < ro.qcow2)
"$VMCONV" check ro.qcow2 >/dev/null
[ "$(md5sum < ro.qcow2)" = "$sum" ] || fail "check without --repair wrote"
echo ok
