# The hostile-image corpus: images whose backing file, data file, VMDK
# extent or parent, or VHD/VHDX parent locator names something outside
# the image's folder (absolute, "..", through a symlink), a device (one
# made here with mknod, or /dev/zero, /dev/null, /dev/loop0), a FIFO, a
# QEMU protocol, or loops back on itself (1 to 4 images long).  The VHDX
# children are qemu-img's dynamic VHDX given a parent locator by
# vhd-parent.py, one case per locator entry (relative_path,
# absolute_win32_path, volume_path, parent_linkage).
# Each must be refused by convert (and a few of them by every other
# command that reads an image: map, measure, dd, inspect, inject,
# validate on each engine, the one-command migration) with exit 1, a
# message naming the image and the field, no output file, and no byte of
# the host file anywhere; `info` still shows the stored names; --allow-parent-dir widens the policy.
# Everything is made here with qemu-img, qemu-io and small scripts.
. "$(dirname "$0")/lib.sh"
requires qemu-img qemu-io python3 timeout mkfifo

cd "$T" || fail cd
mkdir img img/sub out outside
SECRET="HOSTSECRET-$$-$RANDOM"
# the "host file": a raw disk outside the images' folder, marked
python3 -c "import sys; sys.stdout.write(('$SECRET' * 100000)[:1048576])" \
	> outside/secret.raw
cp outside/secret.raw outside/x_secret.raw
qemu-img create -q -f vmdk outside/p.vmdk 1M
qemu-io -f vmdk -c "write -P 0x53 0 64k" outside/p.vmdk >/dev/null ||
	fail qemu-io

n=0
# refuse IMAGE PATTERN [OPTION...]: convert (with OPTIONs) exits 1 within
# 30 s, names the image and PATTERN, leaves no output and shows no secret.
refuse() {
	local img=$1 pat=$2 rc
	shift 2
	n=$((n + 1))
	echo "+ case $n at ${SECONDS}s: $img $* (expect refusal matching '$pat')"
	timeout 30 "$VMCONV" convert "$@" -O raw "$img" "out/$n.raw" \
		>"out/$n.log" 2>&1
	rc=$?
	cat "out/$n.log"
	[ "$rc" -eq 124 ] && fail "$img: convert hung"
	[ "$rc" -eq 1 ] || fail "$img: exit $rc, expected 1"
	ls out/ | grep -q "^$n\.raw" && fail "$img: output left behind"
	grep -q "$(basename "$img")" "out/$n.log" || fail "$img: not named"
	grep -Eq "$pat" "out/$n.log" || fail "$img: message lacks '$pat'"
	grep -q HOSTSECRET "out/$n.log" && fail "$img: host bytes in output"
	timeout 30 "$VMCONV" compare "$@" "$img" outside/secret.raw \
		>"out/$n.cmp" 2>&1
	rc=$?
	[ "$rc" -eq 2 ] || fail "$img: compare exited $rc, expected 2"
	grep -q HOSTSECRET "out/$n.cmp" && fail "$img: host bytes (compare)"
	return 0
}

# ---- qcow2 backing files ----
q() { qemu-img create -q -f qcow2 -u "$@" 1M || fail "qemu-img $*"; }
q -F raw -b /etc/hostname img/q-etc.qcow2
q -F raw -b "$T/outside/secret.raw" img/q-abs.qcow2
q -F raw -b ../outside/secret.raw img/q-dotdot.qcow2
q -F raw -b sub/../../outside/secret.raw img/q-dotdot2.qcow2
ln -s ../outside/secret.raw img/link.raw
q -F raw -b link.raw img/q-symlink.qcow2
ln -s "$T/outside" img/linkdir
q -F raw -b linkdir/secret.raw img/q-symdir.qcow2
mknod img/null c 1 3 && q -F raw -b null img/q-chardev.qcow2
mknod img/blk b 7 0 && q -F raw -b blk img/q-blkdev.qcow2
q -F raw -b /dev/zero img/q-devzero.qcow2
mkfifo img/fifo
q -F raw -b fifo img/q-fifo.qcow2
touch 'img/nbd:127.0.0.1:1'
q -F raw -b 'nbd:127.0.0.1:1' img/q-nbd.qcow2
q -F raw -b 'http://127.0.0.1:1/x.raw' img/q-http.qcow2
q -F raw -b 'json:{"file.driver":"file","file.filename":"/etc/hostname"}' \
	img/q-json.qcow2
for c in etc abs dotdot dotdot2 symlink symdir; do
	refuse img/q-$c.qcow2 "backing file .* refused: .*outside"
done
refuse img/q-chardev.qcow2 "backing file .*character device"
refuse img/q-blkdev.qcow2 "backing file .*block device"
refuse img/q-devzero.qcow2 "backing file '/dev/zero' refused: /dev/zero is outside"
refuse img/q-devzero.qcow2 "backing file '/dev/zero' refused: /dev/zero is a character device" \
	--allow-parent-dir /dev
refuse img/q-fifo.qcow2 "backing file .*FIFO"
for c in nbd http json; do
	refuse img/q-$c.qcow2 "backing file .*protocol"
done

# info still shows the stored names, and reads nothing through them
run "$VMCONV" info --output=json img/q-etc.qcow2 > out/info.json ||
	fail "info of a refused backing file"
grep -q '"backing-filename": "/etc/hostname"' out/info.json ||
	fail "info does not show the stored name"

# ---- qcow2 external data files ----
qemu-img create -q -f qcow2 -o data_file=d.raw,data_file_raw=on \
	img/q-df.qcow2 1M || fail "data file"
for c in "../outside/secret.raw" "$T/outside/secret.raw" link.raw fifo null \
	 /dev/zero; do
	n2=$((n + 1))
	cp img/q-df.qcow2 img/q-df$n2.qcow2
	qemu-img amend -o data_file="$c" img/q-df$n2.qcow2 ||
		fail "amend data_file=$c"
	refuse img/q-df$n2.qcow2 "data file .* refused"
done

# ---- VMDK parents and extents ----
(cd img && qemu-img create -q -f vmdk -b ../outside/p.vmdk -F vmdk \
	v-dotdot.vmdk) || fail "vmdk child"
qemu-img create -q -f vmdk -b "$T/outside/p.vmdk" -F vmdk \
	img/v-abs.vmdk || fail "vmdk child"
ln -s ../outside/p.vmdk img/plink.vmdk
qemu-img create -q -f vmdk -b plink.vmdk -F vmdk img/v-symlink.vmdk ||
	fail "vmdk child"
for c in dotdot abs symlink; do
	refuse img/v-$c.vmdk "parentFileNameHint .* refused: .*outside"
done
run "$VMCONV" info --output=json img/v-abs.vmdk > out/vinfo.json ||
	fail "info of a refused VMDK parent"
grep -q 'parent-error' out/vinfo.json || fail "info: no parent-error"
# vmdk_child FILE HINT: a child of img/vb.vmdk (qemu-img opens the parent
# it is given), its parentFileNameHint then patched to HINT
qemu-img create -q -f vmdk img/vb.vmdk 1M || fail "vmdk parent"
vmdk_child() {
	qemu-img create -q -f vmdk -b vb.vmdk -F vmdk "$1" ||
		fail "vmdk child $1"
	python3 - "$1" "$2" <<'PY' || fail "patch the hint of $1"
import sys
p, new = sys.argv[1], sys.argv[2].encode()
b = open(p, "rb").read()
old = b'parentFileNameHint="vb.vmdk"'
new = b'parentFileNameHint="' + new + b'"'
pad = len(new) - len(old)
i = b.index(old)
# the embedded descriptor has room after it: shift into the padding,
# or pad a shorter one with zeros
desc_end = b.index(b"\0", i)
assert b[desc_end:desc_end + max(pad, 0)] == bytes(max(pad, 0))
seg = b[i:desc_end].replace(old, new) + bytes(max(-pad, 0))
b = b[:i] + seg + b[desc_end + max(pad, 0):]
open(p, "wb").write(b)
PY
}
mkfifo outside/fifo
vmdk_child img/v-fifo.vmdk fifo
vmdk_child img/v-fifoabs.vmdk "$T/outside/fifo"
vmdk_child img/v-winfifo.vmdk 'C:\vms\fifo'
vmdk_child img/v-chardev.vmdk null
vmdk_child img/v-devzero.vmdk /dev/zero
vmdk_child img/v-blk.vmdk blk
vmdk_child img/v-loopdev.vmdk /dev/loop0
refuse img/v-fifo.vmdk "parentFileNameHint 'fifo' refused: .*/img/fifo is a FIFO"
refuse img/v-fifoabs.vmdk "parentFileNameHint '.*/outside/fifo' refused: .*outside"
refuse img/v-winfifo.vmdk "parentFileNameHint 'fifo' refused: .*is a FIFO"
refuse img/v-chardev.vmdk "parentFileNameHint 'null' refused: .*is a character device"
refuse img/v-devzero.vmdk "parentFileNameHint '/dev/zero' refused: /dev/zero is outside"
refuse img/v-devzero.vmdk "parentFileNameHint '/dev/zero' refused: /dev/zero is a character device" \
	--allow-parent-dir /dev
refuse img/v-blk.vmdk "parentFileNameHint 'blk' refused: .*is a block device"
refuse img/v-loopdev.vmdk "parentFileNameHint '/dev/loop0' refused"
desc() {	# desc FILE EXTENT-NAME
	cat > "$1" <<EOF
# Disk DescriptorFile
version=1
CID=fffffffe
parentCID=ffffffff
createType="monolithicFlat"

# Extent description
RW 2048 FLAT "$2" 0

ddb.virtualHWVersion = "4"
EOF
}
desc img/e-dotdot.vmdk ../outside/secret.raw
desc img/e-abs.vmdk "$T/outside/secret.raw"
desc img/e-symlink.vmdk link.raw
desc img/e-etc.vmdk /etc/hostname
desc img/e-fifo.vmdk fifo
desc img/e-blk.vmdk blk
desc img/e-win.vmdk 'C:\secret.raw'
for c in dotdot abs symlink etc; do
	refuse img/e-$c.vmdk "extent .* refused: .*outside"
done
refuse img/e-fifo.vmdk "extent .*FIFO"
refuse img/e-blk.vmdk "extent .*block device"
refuse img/e-win.vmdk "extent .*protocol"

# ---- VHD parent locators (a dynamic VHD patched into a child) ----
vhd_child() {	# vhd_child FILE LOCATOR-NAME [W2ru|W2ku]
	qemu-img create -q -f vpc -o subformat=dynamic "$1" 1M ||
		fail "vhd $1"
	python3 - "$1" "$2" "${3:-W2ru}" <<'PY' || fail "patch $1"
import struct, sys
path, name, code = sys.argv[1], sys.argv[2], sys.argv[3].encode()
def csum(b, at):
    b = bytearray(b); b[at:at + 4] = b"\0" * 4
    return struct.pack(">I", (~sum(b)) & 0xffffffff)
with open(path, "r+b") as f:
    data = bytearray(f.read())
    foot = data[-512:]
    foot[60:64] = struct.pack(">I", 4)          # differencing
    foot[64:68] = csum(foot, 64)
    h = data[512:1536]
    loc = name.encode("utf-16-le")
    h[64:576] = b"\0" * 512                      # no parent name
    h[576:600] = code + struct.pack(">III", 1, len(loc), 0) + \
        struct.pack(">Q", 1280)
    h[768:768 + len(loc)] = loc
    h[36:40] = csum(h, 36)
    data[512:1536] = h
    data[0:512] = foot
    data[-512:] = foot
    f.seek(0); f.write(data)
PY
}
vhd_child img/h-dotdot.vhd '..\outside\secret.raw'
vhd_child img/h-symlink.vhd 'link.raw'
vhd_child img/h-fifo.vhd 'fifo'
vhd_child img/h-abs.vhd "$T/outside/secret.raw" W2ku
vhd_child img/h-blk.vhd 'blk'
vhd_child img/h-chardev.vhd 'null'
vhd_child img/h-devzero.vhd '/dev/zero'
vhd_child img/h-fifoabs.vhd "$T/outside/fifo"
refuse img/h-dotdot.vhd "parent locator .* refused: .*outside"
refuse img/h-symlink.vhd "parent locator .* refused: .*outside"
refuse img/h-fifo.vhd "parent locator .*FIFO"
refuse img/h-blk.vhd "parent locator .*block device"
refuse img/h-chardev.vhd "parent locator 'null' refused: .*/img/null is a character device"
refuse img/h-devzero.vhd "parent locator '/dev/zero' refused: /dev/zero is outside"
refuse img/h-devzero.vhd "parent locator '/dev/zero' refused: /dev/zero is a character device" \
	--allow-parent-dir /dev
refuse img/h-fifoabs.vhd "parent locator '.*/outside/fifo' refused: .*outside"
# an absolute W2ku name is looked for beside the child only: not found
cp outside/secret.raw img/secret.raw
refuse img/h-abs.vhd "parent .*secret.raw"
rm img/secret.raw

# ---- VHDX parent locators: qemu-img's dynamic VHDX made a differencing
# disk by vhd-parent.py (HasParent, a parent locator item of the entries
# given; qemu-img writes no differencing VHDX) ----
VP="$VMCONV_TOP/tests/integration/vhd-parent.py"
LK='{11111111-2222-3333-4444-555555555555}'
vhdx_child() {	# vhdx_child FILE KEY=VALUE...
	qemu-img create -q -f vhdx -o block_state_zero=off "$1" 1M ||
		fail "vhdx $1"
	python3 "$VP" vhdx-child "$1" "parent_linkage=$LK" "${@:2}" ||
		fail "patch $1"
}
# the control: a locator that names a parent beside the child is followed
qemu-img create -q -f vhdx img/xp.vhdx 1M || fail "vhdx parent"
qemu-io -f vhdx -c "write -P 0x58 0 64k" img/xp.vhdx >/dev/null ||
	fail qemu-io
python3 "$VP" vhdx-linkage img/xp.vhdx "$LK" || fail "linkage"
vhdx_child img/x-ok.vhdx 'relative_path=.\xp.vhdx'
run "$VMCONV" convert -O raw img/x-ok.vhdx out/x-ok.raw ||
	fail "a VHDX parent beside the child is refused"
qemu-img convert -O raw img/xp.vhdx out/xp.raw || fail "qemu-img convert"
cmp out/x-ok.raw out/xp.raw || fail "the VHDX child does not read its parent"
x() { local f=$1; shift; vhdx_child "img/x-$f.vhdx" "$@"; }
x dotdot 'relative_path=..\outside\secret.raw'
x abs "relative_path=$T/outside/secret.raw"
x etc relative_path=/etc/hostname
x symlink relative_path=link.raw
x fifo relative_path=fifo
x fifoabs "relative_path=$T/outside/fifo"
x chardev 'relative_path=.\null'
x devzero relative_path=/dev/zero
x devnull relative_path=/dev/null
x blk relative_path=blk
x loopdev relative_path=/dev/loop0
x winfifo 'absolute_win32_path=C:\Hyper-V\fifo'
x winnull 'absolute_win32_path=C:\Hyper-V\null'
x winabs "absolute_win32_path=$T/outside/secret.raw"
x vol volume_path=/dev/zero
x vol2 relative_path=absent.vhdx "volume_path=$T/outside/secret.raw"
x linkage relative_path=xp.vhdx parent_linkage=/etc/hostname
R="parent locator relative_path"
for c in dotdot abs etc symlink fifoabs devnull; do
	refuse img/x-$c.vhdx "$R '.*' refused: .* is outside"
done
refuse img/x-fifo.vhdx "$R 'fifo' refused: .*/img/fifo is a FIFO"
refuse img/x-chardev.vhdx "$R 'null' refused: .*/img/null is a character device"
refuse img/x-devzero.vhdx "$R '/dev/zero' refused: /dev/zero is outside"
refuse img/x-devzero.vhdx "$R '/dev/zero' refused: /dev/zero is a character device" \
	--allow-parent-dir /dev
refuse img/x-blk.vhdx "$R 'blk' refused: .*/img/blk is a block device"
refuse img/x-loopdev.vhdx "$R '/dev/loop0' refused"
R="parent locator absolute_win32_path \(its file name\)"
refuse img/x-winfifo.vhdx "$R 'fifo' refused: .*/img/fifo is a FIFO"
refuse img/x-winnull.vhdx "$R 'null' refused: .* is a character device"
# a POSIX path there is a file name beside the child: not found, never
# opened where it points
refuse img/x-winabs.vhdx "parent disk not found .*absolute_win32_path '.*/outside/secret.raw'"
# a volume path is never followed
refuse img/x-vol.vhdx "neither relative_path nor absolute_win32_path; volume_path '/dev/zero' is not used"
refuse img/x-vol2.vhdx "parent disk not found .*volume_path '.*/outside/secret.raw' is not used"
refuse img/x-linkage.vhdx "parent_linkage '/etc/hostname' is not a GUID"
run "$VMCONV" info --output=json img/x-etc.vhdx > out/xinfo.json ||
	fail "info of a refused VHDX parent"
grep -q '"relative-path": "/etc/hostname"' out/xinfo.json ||
	fail "info does not show the VHDX locator"

# ---- loops of 1 to 4 images in every format with parents ----
for len in 1 2 3 4; do
	# qcow2
	for i in $(seq 1 "$len"); do
		q -F qcow2 -b "ql$len-$(( i % len + 1 )).qcow2" \
			"img/ql$len-$i.qcow2"
	done
	refuse "img/ql$len-1.qcow2" "loop"
	# vmdk: children of a stand-in parent, hints patched
	for i in $(seq 1 "$len"); do
		vmdk_child "img/vl$len$i.vmdk" "vl$len$(( i % len + 1 )).vmdk"
	done
	refuse "img/vl${len}1.vmdk" "loop"
	# vhd
	for i in $(seq 1 "$len"); do
		vhd_child "img/hl$len-$i.vhd" "hl$len-$(( i % len + 1 )).vhd"
	done
	refuse "img/hl$len-1.vhd" "loop"
	# vhdx
	for i in $(seq 1 "$len"); do
		vhdx_child "img/xl$len-$i.vhdx" \
			"relative_path=xl$len-$(( i % len + 1 )).vhdx"
		# each parent's DataWriteGuid matches the linkage: only the
		# loop is wrong
		python3 "$VP" vhdx-linkage "img/xl$len-$i.vhdx" "$LK" ||
			fail "linkage"
	done
	refuse "img/xl$len-1.vhdx" "loop"
done

# ---- every command that reads an image refuses the same ----
# (validate's exit status for an error is 2: 1 says the guest did not
# boot; no engine may boot the guest, none of them may hang)
everywhere() {	# everywhere IMAGE PATTERN
	local img=$1 pat=$2 rc c
	for c in "map" "measure -O qcow2" "dd -O raw of=out/dd.raw if=" \
		 "inspect" "inject --target=kvm --dry-run" \
		 "validate --engine=direct" "validate --engine=qemu" \
		 "validate --engine=nested"; do
		n=$((n + 1))
		echo "+ case $n at ${SECONDS}s: $c $img"
		if [ "${c%=}" != "$c" ]; then
			timeout 60 "$VMCONV" $c"$img"
		else
			timeout 60 "$VMCONV" $c "$img"
		fi >"out/$n.log" 2>&1
		rc=$?
		cat "out/$n.log"
		[ "$rc" -eq 124 ] && fail "$c $img: hung"
		case $c in validate*) [ "$rc" -eq 2 ];; *) [ "$rc" -eq 1 ];; esac ||
			fail "$c $img: exit $rc"
		grep -Eq "$pat" "out/$n.log" || fail "$c $img: message lacks '$pat'"
		grep -q HOSTSECRET "out/$n.log" && fail "$c $img: host bytes"
		[ -e out/dd.raw ] && fail "$c $img: output left behind"
	done
	# the one-command migration
	n=$((n + 1))
	timeout 60 "$VMCONV" "$img" --to qcow2 --out out/m.qcow2 \
		>"out/$n.log" 2>&1
	rc=$?
	cat "out/$n.log"
	[ "$rc" -eq 1 ] || fail "migrating $img: exit $rc"
	grep -Eq "$pat" "out/$n.log" || fail "migrating $img: lacks '$pat'"
	[ -e out/m.qcow2 ] && fail "migrating $img: output left behind"
	return 0
}
everywhere img/q-etc.qcow2 "backing file .* refused: .*outside"
everywhere img/q-fifo.qcow2 "backing file .*FIFO"
everywhere img/q-nbd.qcow2 "backing file .*protocol"
everywhere img/e-abs.vmdk "extent .* refused: .*outside"
everywhere img/h-dotdot.vhd "parent locator .* refused: .*outside"
everywhere img/x-fifo.vhdx "parent locator relative_path 'fifo' refused: .*FIFO"
everywhere img/v-chardev.vmdk "parentFileNameHint 'null' refused: .*character device"

# ---- what stays allowed ----
qemu-img create -q -f raw img/base.raw 1M
qemu-io -f raw -c "write -P 0x42 0 64k" img/base.raw >/dev/null
ln -s ../base.raw img/sub/inlink.raw
q -F raw -b sub/inlink.raw img/ok-link.qcow2
run "$VMCONV" convert -O raw img/ok-link.qcow2 out/ok.raw ||
	fail "a symlink inside the folder is refused"
cmp out/ok.raw img/base.raw || fail "ok-link reads wrong"
# the top image's folder: a child in a subfolder names a file beside
# the top image
q -F raw -b ../base.raw img/sub/mid.qcow2
q -F qcow2 -b sub/mid.qcow2 img/ok-top.qcow2
run "$VMCONV" convert -O raw img/ok-top.qcow2 out/ok2.raw ||
	fail "a file in the top image's folder is refused"
# --allow-parent-dir widens, in both spellings, anywhere on the line
run "$VMCONV" convert --allow-parent-dir "$T/outside" -O raw \
	img/q-dotdot.qcow2 out/w1.raw || fail "--allow-parent-dir DIR"
cmp -n 1048576 out/w1.raw outside/secret.raw || fail "widened read"
run "$VMCONV" info img/v-dotdot.vmdk --allow-parent-dir=outside \
	>/dev/null || fail "--allow-parent-dir=DIR"
run "$VMCONV" compare --allow-parent-dir outside img/e-dotdot.vmdk \
	outside/secret.raw || fail "widened extent"
# never a device, even in an allowed folder
expect_exit 1 "$VMCONV" convert --allow-parent-dir img -O raw \
	img/q-chardev.qcow2 out/w2.raw
expect_exit 1 "$VMCONV" convert --allow-parent-dir /nonexistent -O raw \
	img/base.raw out/w3.raw
# a block device named on the command line is the user's choice: only
# its type is checked (a FIFO there is refused, not read)
expect_exit 1 timeout 30 "$VMCONV" convert -O raw img/fifo out/w4.raw
echo "$n hostile images refused"
