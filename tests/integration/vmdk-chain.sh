# VMDK snapshot chains, with qemu-img as the oracle: a sparse child
# (parentFileNameHint, parentCID) over a flat and a sparse parent, zeroed
# grains (GTE 1) that hide the parent's data, the CID check, and
# --no-backing style reads through the map.
. "$(dirname "$0")/lib.sh"
requires qemu-img qemu-io python3

cd "$T" || fail cd
run qemu-img create -q -f vmdk -o subformat=monolithicFlat base.vmdk 64M
qemu-io -f vmdk -c 'write -P 0x11 0 1M' -c 'write -P 0x22 8M 1M' \
	-c 'write -P 0x33 16M 64k' base.vmdk >/dev/null || fail qemu-io
run qemu-img create -q -f vmdk -o zeroed_grain=on -b base.vmdk -F vmdk \
	mid.vmdk || fail "create mid"
qemu-io -f vmdk -c 'write -P 0x44 8M 64k' -c 'write -z 16M 64k' \
	-c 'write -P 0x55 32M 64k' mid.vmdk >/dev/null || fail qemu-io
run qemu-img create -q -f vmdk -b mid.vmdk -F vmdk top.vmdk ||
	fail "create top"
qemu-io -f vmdk -c 'write -P 0x66 0 4k' top.vmdk >/dev/null || fail qemu-io

for img in mid.vmdk top.vmdk; do
	qemu-img convert -O raw "$img" "q-$img.raw" || fail "qemu-img $img"
	run "$VMCONV" convert -O raw "$img" "v-$img.raw" || fail "read $img"
	cmp "q-$img.raw" "v-$img.raw" || fail "$img reads differently"
done
# the zeroed grain reads as zero, never from the parent, and maps as ZERO
"$VMCONV" map --output=json mid.vmdk > map.json
python3 - <<'PY' || fail "zeroed grain is not reported as zero"
import json, sys
m = json.load(open("map.json"))
hit = [e for e in m if e["start"] <= 16777216 < e["start"] + e["length"]]
print(hit)
sys.exit(0 if hit and hit[0]["zero"] and not hit[0]["data"] else 1)
PY
cmp -n 65536 -i 16777216:0 v-mid.vmdk.raw /dev/zero || fail "zeroed grain"

# info names the chain
"$VMCONV" info --output=json top.vmdk > info.json
grep -q '"backing-filename": "mid.vmdk"' info.json || fail "info backing"
grep -q '"parent-cid"' info.json || fail "info parent-cid"
python3 - <<'PY' || fail "info: CID chain"
import json
d = json.load(open("info.json"))["format-specific"]["data"]
chain = d["parents"]
print([(c["filename"], c.get("cid"), c.get("parent-cid")) for c in chain])
assert [c["filename"].split("/")[-1] for c in chain] == ["mid.vmdk",
                                                        "base.vmdk"]
assert d["parent-cid"] == chain[0]["cid"]
assert chain[0]["parent-cid"] == chain[1]["cid"]
PY

# the chain through another folder: names are relative to the child
mkdir sub && (cd / && "$VMCONV" compare "$T/top.vmdk" "$T/q-top.vmdk.raw") ||
	fail "chain resolved against the cwd"

# a parent changed after the snapshot: its CID no longer matches
cp mid.vmdk mid.orig
cid=$(grep -a -m1 '^CID=' mid.vmdk | cut -d= -f2)
# same length (qemu writes the CID without leading zeros): change the
# last digit only
case $cid in *0) new=${cid%?}1;; *) new=${cid%?}0;; esac
sed -i "0,/^CID=$cid/s//CID=$new/" mid.vmdk
grep -a -q "^CID=$new" mid.vmdk || fail "could not change the CID"
expect_exit 1 "$VMCONV" convert -O raw top.vmdk bad.raw 2> err.txt
cat err.txt
grep -q 'parentCID' err.txt || fail "CID mismatch not named"
[ ! -e bad.raw ] || fail "failed convert left a file"
mv mid.orig mid.vmdk

# a missing parent is a clear error when reading; info still shows the
# image and names its parent, as qemu-img info does
mv base.vmdk base.moved
expect_exit 1 "$VMCONV" convert -O raw mid.vmdk bad.raw 2> err.txt
cat err.txt
grep -q 'base.vmdk' err.txt || fail "missing parent not named"
run "$VMCONV" info --output=json mid.vmdk > info2.json || fail "info"
grep -q '"backing-filename": "base.vmdk"' info2.json || fail "info hint"
grep -q '"parent-error": ".*base.vmdk' info2.json || fail "parent-error"
mv base.moved base.vmdk

# a loop: a parent hint naming the child itself
sed 's/parentFileNameHint="base.vmdk"/parentFileNameHint="loop.vmdk"/' \
	mid.vmdk > loop.vmdk
expect_exit 1 "$VMCONV" convert -O raw loop.vmdk bad.raw
"$VMCONV" info loop.vmdk | grep -q 'parent-error: .*loops' ||
	fail "info does not name the loop"
# vmconv writes snapshot children too: a sparse child whose zeros are
# zeroed grains (the parent's data must not show through), tied to its
# parent by parentCID, read by qemu-img through the chain
qemu-img create -q -f raw full.raw 64M
qemu-io -f raw -c 'write -P 0x77 0 64M' full.raw >/dev/null
"$VMCONV" convert -O vmdk full.raw p.vmdk || fail "parent"
qemu-img create -q -f raw src.raw 64M
qemu-io -f raw -c 'write -P 0x11 0 1M' -c 'write -P 0x22 8M 100k' \
	src.raw >/dev/null
for sub in monolithicSparse twoGbMaxExtentSparse; do
	run "$VMCONV" convert -O vmdk -o subformat=$sub -B p.vmdk src.raw \
		"c-$sub.vmdk" || fail "child $sub"
	run qemu-img compare -f raw src.raw "c-$sub.vmdk" || fail "child $sub"
	run qemu-img check "c-$sub.vmdk" || fail "check child $sub"
	"$VMCONV" compare "c-$sub.vmdk" src.raw || fail "vmconv child $sub"
	qemu-img info "c-$sub.vmdk" | grep -q '^backing file: p.vmdk' ||
		fail "child $sub: no backing file"
done
# an empty child reads as its parent
run "$VMCONV" create -f vmdk -b p.vmdk empty.vmdk || fail "create -b"
qemu-img compare -f raw full.raw empty.vmdk || fail "empty child"
expect_exit 1 "$VMCONV" create -f vmdk -o subformat=streamOptimized \
	-b p.vmdk bad.vmdk
exit 0
