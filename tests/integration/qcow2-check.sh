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

# counts TOOL IMG: R="leaks corruptions exit".  A tool that writes no JSON
# report fails the test: two tools failing alike are not two agreeing.
counts() {
	local rc
	rm -f out.json
	if [ "$1" = qemu ]; then
		qemu-img check --output=json "$2" > out.json 2>/dev/null; rc=$?
	else
		"$VMCONV" check --output=json "$2" > out.json; rc=$?
	fi
	R=$(python3 -c 'import json; d=json.load(open("out.json")); assert "check-errors" in d, d; print(d.get("leaks", 0), d.get("corruptions", 0))') ||
		fail "$1 check $2 (exit $rc) wrote no JSON report"
	R="$R $rc"
}
# same_counts IMG [WANT]: both tools count IMG alike (and as WANT)
same_counts() {
	local q
	counts qemu "$1"; q=$R
	counts vmconv "$1"
	echo "$1: qemu-img '$q' vmconv '$R'"
	[ "$q" = "$R" ] || fail "$1: vmconv check counts '$R', qemu-img '$q'"
	[ -z "${2:-}" ] || [ "$R" = "$2" ] || fail "$1: counts '$R', not '$2'"
}

# stats TOOL IMG: R=the statistics, or the test fails
stats() {
	rm -f st.json
	if [ "$1" = qemu ]; then
		qemu-img check --output=json "$2" > st.json 2>/dev/null
	else
		"$VMCONV" check --output=json "$2" > st.json
	fi
	R=$(python3 -c 'import json; d=json.load(open("st.json")); print([d[k] if k in d else d.get(k, 0) for k in ("allocated-clusters", "total-clusters", "fragmented-clusters", "compressed-clusters", "image-end-offset")])') ||
		fail "$1 check $2 wrote no JSON report"
}
same_stats() {	# IMG WHAT
	local q
	stats qemu "$1"; q=$R
	stats vmconv "$1"
	[ "$q" = "$R" ] || fail "$2: statistics $R, qemu-img $q"
}
damage() {	# NAME OPS...
	local name=$1; shift
	cp d.qcow2 "$name.qcow2"
	while [ $# -gt 0 ]; do
		case $1 in
		grow) python3 "$D" "$name.qcow2" grow || fail "grow $name"
		      shift;;
		set) python3 "$D" "$name.qcow2" set "$2" "$3" ||
			fail "set $name"; shift 3;;
		esac
	done
}

damage clean
damage leak grow
damage leak2 grow set $((c + 2)) 2
damage high set "$c" 2
damage low set $((c + 1)) 0
damage mixed grow set $((c + 3)) 0 set $((c + 5)) 3
# the counts qemu-img gives, literally too: agreeing with a qemu-img that
# counted nothing would prove nothing
same_counts clean.qcow2 "0 0 0"
same_counts leak.qcow2 "1 0 3"
same_counts leak2.qcow2 "2 1 2"
same_counts high.qcow2 "1 1 2"
same_counts low.qcow2 "0 2 2"
same_counts mixed.qcow2 "2 3 2"

for img in leak leak2 high low mixed; do
	"$VMCONV" check --repair $img.qcow2 2> repair.err
	grep -q 'in place' repair.err || fail "--repair does not say it writes"
	qemu-img check $img.qcow2 || fail "$img not clean after --repair"
	qemu-img compare d.qcow2 $img.qcow2 || fail "--repair changed $img data"
	counts vmconv $img.qcow2
	[ "$R" = "0 0 0" ] || fail "$img still unclean: $R"
done
# The statistics (allocated, fragmented, compressed clusters, image end
# offset) agree with qemu-img's, on images written by both and with -c.
head -c 3M /dev/urandom > st.raw
python3 -c "import sys; sys.stdout.write('stats ' * 500000)" >> st.raw
for o in cluster_size=4k cluster_size=64k; do
	run qemu-img convert -O qcow2 -o $o st.raw sq.qcow2
	run qemu-img convert -c -O qcow2 -o $o st.raw sqc.qcow2
	run "$VMCONV" convert -O qcow2 -o $o st.raw sv.qcow2
	run "$VMCONV" convert -c -O qcow2 -o $o st.raw svc.qcow2
	for img in sq sqc sv svc d; do
		same_stats $img.qcow2 "$img ($o)"
	done
done

# Internal snapshots share clusters and L2 tables: counted as qemu does.
run qemu-img convert -O qcow2 st.raw snap.qcow2
run qemu-img snapshot -c one snap.qcow2
run qemu-io -c 'write -P 9 0 256k' -c 'write -z 1M 64k' snap.qcow2
run qemu-img snapshot -c two snap.qcow2
run qemu-io -c 'write -P 8 128k 256k' snap.qcow2
same_counts snap.qcow2 "0 0 0"
same_stats snap.qcow2 "snapshot image"
python3 "$D" snap.qcow2 grow || fail "grow snap.qcow2"
same_counts snap.qcow2 "1 0 3"
run "$VMCONV" check --repair snap.qcow2
qemu-img check snap.qcow2 || fail "snapshot image not repaired"

# OFLAG_COPIED cleared on the L1 entry and on two L2 entries.
cp d.qcow2 copied.qcow2
python3 - <<'PY'
import struct
with open('copied.qcow2', 'r+b') as f:
    f.seek(40); l1 = struct.unpack('>Q', f.read(8))[0]
    f.seek(l1); l1e = struct.unpack('>Q', f.read(8))[0]
    f.seek(l1); f.write(struct.pack('>Q', l1e & ~(1 << 63)))
    l2 = l1e & 0x00fffffffffffe00
    for j in (1, 3):
        f.seek(l2 + 8 * j); e = struct.unpack('>Q', f.read(8))[0]
        f.seek(l2 + 8 * j); f.write(struct.pack('>Q', e & ~(1 << 63)))
PY
same_counts copied.qcow2 "0 3 2"
run "$VMCONV" check --repair copied.qcow2
qemu-img check copied.qcow2 || fail "OFLAG_COPIED not repaired"
qemu-img compare d.qcow2 copied.qcow2 || fail "repair changed the data"

# A lazy-refcounts image left dirty by a crash: read as it is, counted as
# qemu-img counts it, repaired and marked clean.  Made two ways: by a
# qemu-io that aborts after its writes, and, so that the case never rests
# on a crash happening as hoped, by setting in a cleanly closed image what
# such a crash leaves (the dirty bit; refcount 0 for every data cluster,
# whose refcount updates lazy refcounts defer).
run qemu-img create -q -f qcow2 -o lazy_refcounts=on lazy.qcow2 16M
cp lazy.qcow2 made.qcow2
qemu-io -c 'write -P 1 0 1M' -c 'write -P 2 5M 64k' -c abort lazy.qcow2 \
	>/dev/null 2>&1
run qemu-io -c 'write -P 1 0 1M' -c 'write -P 2 5M 64k' made.qcow2 ||
	fail "qemu-io made.qcow2"
run python3 "$D" made.qcow2 crash || fail "crash made.qcow2"
for img in made lazy; do
	qemu-img info --output=json $img.qcow2 |
		grep -q '"dirty-flag": true' || fail "$img.qcow2 is not dirty"
	rm -f lazy.raw
	run "$VMCONV" convert -O raw $img.qcow2 lazy.raw ||
		fail "vmconv cannot read the dirty $img.qcow2"
	qemu-img compare -U lazy.raw $img.qcow2 || fail "dirty $img read wrong"
	# 17 data clusters: each at refcount 0, each with OFLAG_COPIED
	same_counts $img.qcow2 "0 34 2"
	run "$VMCONV" check --repair $img.qcow2 || fail "repair $img"
	qemu-img check $img.qcow2 || fail "dirty $img not repaired"
	qemu-img info --output=json $img.qcow2 |
		grep -q '"dirty-flag": false' ||
		fail "dirty flag not cleared by --repair ($img)"
	qemu-img compare lazy.raw $img.qcow2 || fail "repair changed $img"
done

# A missing refcount block: repair places a new one at the end.
cp d.qcow2 noblock.qcow2
python3 -c "
import struct
f = open('noblock.qcow2', 'r+b'); f.seek(48)
rt = struct.unpack('>Q', f.read(8))[0]; f.seek(rt); f.write(bytes(8))"
same_counts noblock.qcow2
run "$VMCONV" check --repair noblock.qcow2
qemu-img check noblock.qcow2 || fail "missing refcount block not repaired"
qemu-img compare d.qcow2 noblock.qcow2 || fail "repair changed the data"
same_stats noblock.qcow2 "noblock after repair"

# Without --repair nothing is written.
cp leak.qcow2 before.qcow2 2>/dev/null
damage ro grow
sum=$(md5sum < ro.qcow2)
expect_exit 3 "$VMCONV" check ro.qcow2 >/dev/null
[ "$(md5sum < ro.qcow2)" = "$sum" ] || fail "check without --repair wrote"

# Hostile metadata: refcount table over the header or over itself, an L1
# entry pointing at the L1 table, L2 entries misaligned and past the end.
python3 - <<'PY'
import shutil, struct
for n in range(1, 5):
    shutil.copy('d.qcow2', 'h%d.qcow2' % n)
def rd(f, off, fmt):
    f.seek(off)
    return struct.unpack(fmt, f.read(struct.calcsize(fmt)))[0]
with open('h1.qcow2', 'r+b') as f:
    f.seek(48); f.write(struct.pack('>Q', 0))
with open('h2.qcow2', 'r+b') as f:
    rt = rd(f, 48, '>Q'); f.seek(rt); f.write(struct.pack('>Q', rt))
with open('h3.qcow2', 'r+b') as f:
    l1 = rd(f, 40, '>Q'); f.seek(l1); f.write(struct.pack('>Q', l1 | 1 << 63))
with open('h4.qcow2', 'r+b') as f:
    l1 = rd(f, 40, '>Q'); l2 = rd(f, l1, '>Q') & 0x00fffffffffffe00
    f.seek(l2); f.write(struct.pack('>Q', 1 << 63 | 0x12345600))
    f.write(struct.pack('>Q', 1 << 63 | 0x7000000000))
PY
# h5: a 4 TiB disk whose 8192 L1 entries all point at one L2 table.
run qemu-img create -q -f qcow2 h5.qcow2 4T
run qemu-io -c 'write -P 7 0 128k' h5.qcow2
python3 - <<'PY'
import struct
with open('h5.qcow2', 'r+b') as f:
    f.seek(36); n = struct.unpack('>I', f.read(4))[0]
    f.seek(40); l1 = struct.unpack('>Q', f.read(8))[0]
    f.seek(l1); e = f.read(8)
    f.seek(l1); f.write(e * n)
PY
for img in h1 h2 h3 h4 h5; do
	same_counts $img.qcow2
	same_stats $img.qcow2 $img
	[ $img = h5 ] && continue
	if [ $img = h4 ]; then
		# qemu-img fails on the misaligned entry too
		expect_exit 1 "$VMCONV" convert -O raw $img.qcow2 x.raw
		[ -e x.raw ] && fail "failed conversion of $img left x.raw"
	else
		run "$VMCONV" convert -O raw $img.qcow2 v.raw
		qemu-img convert -O raw $img.qcow2 q.raw
		cmp v.raw q.raw || fail "$img read differently from qemu-img"
		rm -f v.raw q.raw
	fi
done
# A refcount structure overlapping other metadata is not "repaired" into
# something worse: vmconv refuses and writes nothing.
for img in h1 h2; do
	sum=$(md5sum < $img.qcow2)
	expect_exit 1 "$VMCONV" check --repair $img.qcow2
	[ "$(md5sum < $img.qcow2)" = "$sum" ] || fail "$img was modified"
done
echo ok
