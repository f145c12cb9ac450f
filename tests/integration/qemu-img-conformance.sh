# qemu-img conformance: the invocations migration pipelines issue (KubeVirt
# CDI, OpenStack Glance/Nova/Cinder, virt-v2v/oVirt; written from their
# documentation), run once with qemu-img and once with vmconv on copies of
# the same inputs.  Compared: exit codes, JSON field by field (jq), the
# resulting images (qemu-img compare against each other) and qemu-img
# check on every qcow2 vmconv wrote.
. "$(dirname "$0")/lib.sh"
requires qemu-img qemu-io jq python3
D=$(dirname "$0")

# Inputs, made by qemu-img.
mkdir "$T/in"
qemu-img create -f raw "$T/in/disk.raw" 96M >/dev/null
qemu-io -f raw -c 'write -P 0x5a 0 1M' -c 'write -P 0xa5 40M 3M' \
	-c 'write -z 60M 1M' -c 'write -P 0x11 95M 1M' "$T/in/disk.raw" \
	>/dev/null || fail qemu-io
qemu-img convert -f raw -O qcow2 "$T/in/disk.raw" "$T/in/disk.qcow2"
qemu-img create -f qcow2 -b disk.qcow2 -F qcow2 "$T/in/top.qcow2" >/dev/null
qemu-io -c 'write -P 0x77 2M 1M' "$T/in/top.qcow2" >/dev/null

# Two folders, one per tool, each with its own copy of the inputs.
mkdir "$T/q" "$T/v"
cp -a "$T/in/." "$T/q/"; cp -a "$T/in/." "$T/v/"

# both EXPECTED-EXIT SUBCOMMAND ARGS...: run in $T/q with qemu-img and in
# $T/v with vmconv; stdout to $T/q.out and $T/v.out; exit codes must match
# each other and EXPECTED.
both() {
	local want=$1 qrc vrc; shift
	echo "+ [qemu-img|vmconv] $*"
	(cd "$T/q" && qemu-img "$@") >"$T/q.out" 2>"$T/q.err"; qrc=$?
	(cd "$T/v" && "$VMCONV" "$@") >"$T/v.out" 2>"$T/v.err"; vrc=$?
	[ "$qrc" = "$vrc" ] || { cat "$T/q.err" "$T/v.err"
		fail "'$*': qemu-img exited $qrc, vmconv $vrc"; }
	[ "$qrc" = "$want" ] || fail "'$*': exit $qrc, expected $want"
}
# same_json FILTER: the jq FILTER of both outputs is equal.
same_json() {
	local a b
	a=$(jq -S "$1" "$T/q.out") || fail "qemu-img output is not JSON"
	b=$(jq -S "$1" "$T/v.out") || { cat "$T/v.out"; fail "vmconv output is not JSON"; }
	[ "$a" = "$b" ] || { diff <(echo "$a") <(echo "$b"); fail "JSON differs ($1)"; }
}
# The results of both runs have the same guest content.
same_image() {
	run qemu-img compare "$T/q/$1" "$T/v/$1" || fail "$1: images differ"
}
clean() {
	run qemu-img check "$T/v/$1" >/dev/null || fail "$1: qemu-img check"
}
# info without the host-dependent actual-size.
INFO='if type == "array" then map(del(.["actual-size"])) else del(.["actual-size"]) end'

# --- CDI: convert -p -t writeback -O raw / qcow2, then info ---
both 0 convert -p -t writeback -O raw disk.qcow2 cdi.raw
same_image cdi.raw
both 0 convert -p -O qcow2 disk.raw cdi.qcow2
same_image cdi.qcow2; clean cdi.qcow2
both 0 info --output=json cdi.qcow2
same_json "$INFO"

# --- Glance / Nova: info --output=json [-f] [--force-share] ---
for img in disk.raw disk.qcow2 top.qcow2; do
	both 0 info --output=json "$img"
	same_json "$INFO"
	both 0 info --output=json --force-share "$img"
	same_json "$INFO"
done
both 0 info -f qcow2 --output=json --backing-chain top.qcow2
same_json "$INFO"
both 0 info --output=json --backing-chain disk.qcow2
same_json "$INFO"
both 1 info --output=json missing.qcow2

# --- Cinder / oVirt / virt-v2v: measure --output=json ---
for args in "-O qcow2 disk.raw" "-O qcow2 disk.qcow2" "-O raw disk.qcow2" \
	    "-O qcow2 -o cluster_size=1M disk.raw" "-O qcow2 --size 20G" \
	    "-f qcow2 -O qcow2 top.qcow2" "-O qcow2 -o compat=0.10 disk.qcow2"; do
	both 0 measure --output=json $args
	same_json .
done

# --- Cinder / virt-v2v: convert -n onto pre-created volumes ---
for t in raw qcow2; do
	for tool in q v; do
		qemu-img create -f $t "$T/$tool/vol.$t" 96M >/dev/null
		qemu-img create -f $t "$T/$tool/zvol.$t" 100M >/dev/null
	done
	both 0 convert -n -f qcow2 -O $t disk.qcow2 vol.$t
	same_image vol.$t
	run qemu-img compare "$T/in/disk.raw" "$T/v/vol.$t" || fail "vol.$t"
	both 0 convert -n --target-is-zero -O $t top.qcow2 zvol.$t
	same_image zvol.$t
	if [ $t = qcow2 ]; then
		clean vol.qcow2; clean zvol.qcow2
		both 0 info --output=json vol.qcow2
		same_json "$INFO"
	fi
done
both 1 convert --target-is-zero -O raw disk.raw nz.raw
both 1 convert -n -O raw disk.raw no-such-volume.raw
both 0 convert -S 0 -O raw disk.qcow2 full.raw
same_image full.raw
a=$(du -k "$T/v/full.raw" | cut -f1)
[ "$a" -ge $((96 * 1024)) ] || fail "-S 0 left holes ($a KiB allocated)"
both 0 convert -U -S 64k -O qcow2 disk.raw s64.qcow2
same_image s64.qcow2; clean s64.qcow2

# --- check --output=json, exit codes 0 / 3 / 2 / 63 ---
both 0 check --output=json disk.qcow2
same_json .
for tool in q v; do
	cp "$T/in/disk.qcow2" "$T/$tool/leak.qcow2"
	python3 "$D/qcow2-damage.py" "$T/$tool/leak.qcow2" grow
	cp "$T/in/disk.qcow2" "$T/$tool/bad.qcow2"
	c=$(python3 "$D/qcow2-damage.py" "$T/$tool/bad.qcow2" first-data)
	python3 "$D/qcow2-damage.py" "$T/$tool/bad.qcow2" set "$c" 0
done
both 3 check --output=json leak.qcow2
same_json .
both 2 check --output=json bad.qcow2
same_json .
both 63 check disk.raw
both 0 check -r leaks --output=json leak.qcow2
same_json .

# --- compare: 0 same, 1 different, 2 error ---
both 0 compare disk.raw disk.qcow2
both 1 compare disk.raw top.qcow2
both 2 compare disk.raw missing.raw

# --- Nova: resize ---
both 0 resize disk.raw +32M
same_image disk.raw
both 0 resize disk.qcow2 200M
same_image disk.qcow2; clean disk.qcow2
both 0 info --output=json disk.qcow2
same_json "$INFO"
both 1 resize disk.qcow2 100M
both 0 resize --shrink disk.qcow2 100M
same_image disk.qcow2; clean disk.qcow2
both 0 resize --shrink disk.raw -28M
same_image disk.raw
# --- dd: if= of= bs= count= skip= ---
both 0 dd -f qcow2 -O raw bs=64k count=700 skip=600 if=disk.qcow2 of=dd1.raw
same_image dd1.raw
both 0 dd -O qcow2 bs=1M skip=39 if=disk.raw of=dd2.qcow2
same_image dd2.qcow2; clean dd2.qcow2
both 0 dd if=top.qcow2 of=dd3.raw
same_image dd3.raw
both 0 dd bs=4k count=1000000 if=disk.raw of=dd4.raw
same_image dd4.raw
# qemu-img prints "cannot skip to specified offset" yet exits 0 with an
# empty output; vmconv fails and writes nothing.
expect_exit 1 "$VMCONV" dd bs=1M skip=1000 if="$T/v/disk.raw" of="$T/v/dd5.raw"
expect_exit 1 "$VMCONV" dd bs=64k count=4 skip=6 if="$T/v/disk.raw" of="$T/v/dd5.raw"
[ ! -e "$T/v/dd5.raw" ] || fail "a failed dd left its output"

# --- Nova / oVirt: snapshot -l / -c / -a / -d (qcow2, in place) ---
# snapshot -l without the DATE column (the runs are not the same second).
snaplist() { sed -E 's/ [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} / DATE /' "$1"; }
same_list() {
	diff <(snaplist "$T/q.out") <(snaplist "$T/v.out") ||
		fail "snapshot -l output differs"
}
# io TOOL-DIR CMD...: the same qemu-io write into both copies.
io() { for tool in q v; do qemu-io "$@" "$T/$tool/snap.qcow2" >/dev/null ||
	fail "qemu-io $*"; done; }
qemu-img create -f qcow2 "$T/q/snap.qcow2" 64M >/dev/null
cp "$T/q/snap.qcow2" "$T/v/snap.qcow2"
io -c 'write -P 0x21 0 3M' -c 'write -c -P 0x22 8M 256k' -c 'write -z 16M 1M'
both 0 snapshot -c first snap.qcow2
clean snap.qcow2
io -c 'write -P 0x31 1M 4M' -c 'write -P 0x32 60M 1M'
both 0 snapshot -c second snap.qcow2
clean snap.qcow2; same_image snap.qcow2
both 0 snapshot -l snap.qcow2
same_list
io -c 'write -P 0x41 0 8M'
both 0 snapshot -a first snap.qcow2
same_image snap.qcow2; clean snap.qcow2
run qemu-io -c 'read -P 0x21 0 1M' "$T/v/snap.qcow2" | grep -q '^read' ||
	fail "snapshot -a first: the disk is not the first snapshot's"
both 0 snapshot -a 2 snap.qcow2
same_image snap.qcow2; clean snap.qcow2
both 0 snapshot -d first snap.qcow2
same_image snap.qcow2; clean snap.qcow2
both 0 snapshot -l snap.qcow2
same_list
both 1 snapshot -d nope snap.qcow2
both 1 snapshot -a nope snap.qcow2
both 1 snapshot -c x disk.raw
# qemu-img reads ours: it applies and deletes the snapshot vmconv took.
both 0 snapshot -c third snap.qcow2
io -c 'write -P 0x51 0 1M'
for tool in q v; do
	run qemu-img snapshot -a third "$T/$tool/snap.qcow2" || fail "qemu-img -a"
	run qemu-img snapshot -d third "$T/$tool/snap.qcow2" || fail "qemu-img -d"
done
same_image snap.qcow2; clean snap.qcow2
# vmconv reads qemu-img's: the snapshots qemu-img took, applied and deleted.
qemu-img create -f qcow2 -o compat=0.10 "$T/q/qs.qcow2" 32M >/dev/null
qemu-io -c 'write -P 0x61 0 2M' "$T/q/qs.qcow2" >/dev/null
qemu-img snapshot -c one "$T/q/qs.qcow2"
qemu-io -c 'write -P 0x62 1M 2M' "$T/q/qs.qcow2" >/dev/null
qemu-img snapshot -c two "$T/q/qs.qcow2"
cp "$T/q/qs.qcow2" "$T/v/qs.qcow2"
both 0 snapshot -l qs.qcow2
diff "$T/q.out" "$T/v.out" || fail "snapshot -l output differs"
both 0 snapshot -a one qs.qcow2
same_image qs.qcow2; clean qs.qcow2
both 0 snapshot -d two qs.qcow2
same_image qs.qcow2; clean qs.qcow2
both 0 snapshot -l disk.qcow2
[ ! -s "$T/v.out" ] || fail "snapshot -l of an image without snapshots"

# --- resize of an image with snapshots (v3), grow past one L1 entry ---
both 0 resize snap.qcow2 +2G
same_image snap.qcow2; clean snap.qcow2
both 0 resize --shrink snap.qcow2 2M
same_image snap.qcow2; clean snap.qcow2
both 0 snapshot -a second snap.qcow2
same_image snap.qcow2; clean snap.qcow2
both 1 resize qs.qcow2 +1M

# --- rebase: safe and -u, onto another backing file and onto none ---
qemu-img create -f qcow2 "$T/in/nb.qcow2" 96M >/dev/null
qemu-io -c 'write -P 0x5a 0 512k' -c 'write -P 0x71 50M 1M' \
	"$T/in/nb.qcow2" >/dev/null
for tool in q v; do
	cp "$T/in/nb.qcow2" "$T/in/disk.qcow2" "$T/$tool/"
	for n in 1 2 3; do cp "$T/in/top.qcow2" "$T/$tool/top$n.qcow2"; done
done
both 0 rebase -b nb.qcow2 -F qcow2 top1.qcow2
same_image top1.qcow2; clean top1.qcow2
run qemu-img compare "$T/in/top.qcow2" "$T/v/top1.qcow2" ||
	fail "safe rebase changed what the guest sees"
both 0 info --output=json top1.qcow2
same_json "$INFO | del(.\"full-backing-filename\")"
both 0 rebase -u -b nb.qcow2 -F qcow2 top2.qcow2
same_image top2.qcow2; clean top2.qcow2
both 0 rebase -b "" top3.qcow2
same_image top3.qcow2; clean top3.qcow2
both 0 info --output=json top3.qcow2
same_json "$INFO"
both 1 rebase -b nb.qcow2 top2.qcow2
both 1 rebase -b missing.qcow2 -F qcow2 top2.qcow2

# --- amend -o: compat both ways, lazy_refcounts, size; refusals ---
for tool in q v; do cp "$T/in/disk.qcow2" "$T/$tool/am.qcow2"; done
for o in compat=0.10 compat=1.1 lazy_refcounts=on lazy_refcounts=off \
	 size=200M compat=1.1,size=150M; do
	both 0 amend -o $o am.qcow2
	same_image am.qcow2; clean am.qcow2
	both 0 info --output=json am.qcow2
	same_json "$INFO"
done
# Version 2 has no zero clusters: the downgrade expands them.
for tool in q v; do
	qemu-img create -f qcow2 "$T/$tool/z.qcow2" 16M >/dev/null
	qemu-io -c 'write -P 0x19 0 2M' -c 'write -z 512k 64k' \
		-c 'write -z -u 1M 128k' -c 'write -z 8M 1M' "$T/$tool/z.qcow2" \
		>/dev/null || fail qemu-io
done
both 0 amend -o compat=0.10 z.qcow2
same_image z.qcow2; clean z.qcow2
both 0 info --output=json z.qcow2
same_json "$INFO"
both 1 amend -o cluster_size=4k am.qcow2
both 1 amend -o backing_file=disk.qcow2 am.qcow2
both 1 amend -o no_such_option=1 am.qcow2
exit 0
