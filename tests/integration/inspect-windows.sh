# Windows guests: inspected from their registry, refused by the one
# command (exit 1, no target), converted unchanged with --no-inject.
#
# The disks are SYNTHETIC Windows-shaped disks, made here because no
# Windows image can be made on this machine: an NTFS file system (Debian's
# mkntfs, in the libguestfs appliance) holding \Windows\System32\cmd.exe (a
# bare PE32+ header, tests/tools/win-shaped.py) and the SOFTWARE and SYSTEM
# hives (an empty regf hive from win-shaped.py, filled from .reg text by
# hivexregedit --merge).  That is the registry and the layout libguestfs's
# inspection reads, not a bootable Windows: nothing here boots.
#   hyperv.img  Windows 10 Pro from Hyper-V: storvsc and vmbus at boot,
#               IDE drivers manual-start, no virtio drivers
#   virtio.img  the same with viostor and vioscsi installed (service and
#               .sys file), started at boot, and the IDE drivers too
#   bad.img     hyperv.img with SOFTWARE truncated mid-hbin and a SYSTEM
#               whose hbin claims to run past the end of the file
# run-tests: timeout=1800
. "$(dirname "$0")/lib.sh"
requires guestfish hivexregedit python3 jq qemu-img
export LIBGUESTFS_BACKEND=direct LIBGUESTFS_BACKEND_SETTINGS=force_tcg
TOOL="$VMCONV_TOP/tests/tools/win-shaped.py"

python3 "$TOOL" hive "$T/empty.hive" || fail "empty hive"
python3 "$TOOL" pe64 "$T/cmd.exe" || fail "cmd.exe"

cat >"$T/software.reg" <<'EOF'
Windows Registry Editor Version 5.00

[\Microsoft]

[\Microsoft\Windows NT]

[\Microsoft\Windows NT\CurrentVersion]
"ProductName"="Windows 10 Pro"
"EditionID"="Professional"
"CurrentVersion"="6.3"
"CurrentMajorVersionNumber"=dword:0000000a
"CurrentMinorVersionNumber"=dword:00000000
"CurrentBuild"="19045"
"CurrentBuildNumber"="19045"
"InstallationType"="Client"
EOF

# service NAME START: a driver's Services key
service() {
	printf '[\\ControlSet001\\Services\\%s]\n"Start"=dword:%08x\n' "$1" "$2"
	printf '"Type"=dword:00000001\n"ImagePath"=str(2):"System32\\\\drivers\\\\%s.sys"\n\n' "$1"
}
system_reg() {	# system_reg IDE_START [virtio]
	printf 'Windows Registry Editor Version 5.00\n\n'
	printf '[\\Select]\n"Current"=dword:00000001\n"Default"=dword:00000001\n\n'
	printf '[\\ControlSet001]\n\n[\\ControlSet001\\Services]\n\n'
	service storvsc 0
	service vmbus 0
	service netvsc 3
	service atapi "$1"
	service intelide "$1"
	service pciide 3
	if [ "${2:-}" = virtio ]; then
		service viostor 0
		service vioscsi 0
		service netkvm 3
	fi
}
for v in hyperv virtio; do
	cp "$T/empty.hive" "$T/SOFTWARE.$v"
	cp "$T/empty.hive" "$T/SYSTEM.$v"
	hivexregedit --merge "$T/SOFTWARE.$v" "$T/software.reg" ||
		fail "SOFTWARE.$v"
done
system_reg 3 >"$T/system-hyperv.reg"
system_reg 0 virtio >"$T/system-virtio.reg"
hivexregedit --merge "$T/SYSTEM.hyperv" "$T/system-hyperv.reg" ||
	fail "SYSTEM.hyperv"
hivexregedit --merge "$T/SYSTEM.virtio" "$T/system-virtio.reg" ||
	fail "SYSTEM.virtio"
hivexregedit --export "$T/SYSTEM.virtio" '\ControlSet001\Services\viostor' |
	grep -q '"Start"=dword:00000000' || fail "the viostor key was not merged"
# bad: truncated inside its first hbin; and a hbin of 0x7ffff000 bytes
head -c 6000 "$T/SOFTWARE.hyperv" >"$T/SOFTWARE.bad"
cp "$T/SYSTEM.hyperv" "$T/SYSTEM.bad"
printf '\x00\xf0\xff\x7f' | dd of="$T/SYSTEM.bad" bs=1 seek=$((0x1008)) \
	conv=notrunc status=none

# one appliance launch makes the three disks
{
	echo run
	for d in a:hyperv b:virtio c:bad; do
		dev=/dev/sd${d%%:*} v=${d#*:}
		cat <<EOF
part-disk $dev mbr
mkfs ntfs ${dev}1
mount ${dev}1 /
mkdir-p /Windows/System32/config
mkdir-p /Windows/System32/drivers
upload $T/cmd.exe /Windows/System32/cmd.exe
upload $T/SOFTWARE.$v /Windows/System32/config/SOFTWARE
upload $T/SYSTEM.$v /Windows/System32/config/SYSTEM
EOF
		for s in storvsc vmbus netvsc atapi intelide pciide; do
			echo "upload $T/cmd.exe /Windows/System32/drivers/$s.sys"
		done
		[ $v = virtio ] && for s in viostor vioscsi netkvm; do
			echo "upload $T/cmd.exe /Windows/System32/drivers/$s.sys"
		done
		echo "umount-all"
	done
} >"$T/make.fish"
for v in hyperv virtio bad; do truncate -s 40M "$T/$v.img"; done
guestfish --rw -a "$T/hyperv.img" -a "$T/virtio.img" -a "$T/bad.img" \
	-f "$T/make.fish" || fail "making the disks"

# inspect: the registry's facts and the verdict per bus
"$VMCONV" inspect --output=json "$T/hyperv.img" >"$T/hyperv.json" ||
	fail "inspect hyperv.img"
cat "$T/hyperv.json"
j() { jq -r "$1" "$2"; }
want() {	# want JQ FILE VALUE
	[ "$(j "$1" "$2")" = "$3" ] ||
		fail "$2: $1 is '$(j "$1" "$2")', expected '$3'"
}
want .type "$T/hyperv.json" windows
want .product "$T/hyperv.json" "Windows 10 Pro"
want .windows.product_name "$T/hyperv.json" "Windows 10 Pro"
want .windows.edition "$T/hyperv.json" Professional
want .windows.build "$T/hyperv.json" 19045
want .windows.version.major "$T/hyperv.json" 10
want .windows.control_set "$T/hyperv.json" ControlSet001
want .windows.registry_error "$T/hyperv.json" null
want .windows.drivers.viostor.installed "$T/hyperv.json" false
want .windows.drivers.vioscsi.installed "$T/hyperv.json" false
want .windows.drivers.storvsc.start_type "$T/hyperv.json" boot
want .windows.drivers.intelide.start "$T/hyperv.json" 3
want '.windows.leftovers | join(",")' "$T/hyperv.json" storvsc,vmbus,netvsc
want .readiness.virtio.ready "$T/hyperv.json" false
want .readiness.ide.ready "$T/hyperv.json" false
j .readiness.virtio.verdict "$T/hyperv.json" | grep -q \
	'virtio: will not boot: viostor (the virtio-blk driver) is not installed' ||
	fail "virtio verdict"
j .readiness.ide.verdict "$T/hyperv.json" | grep -q \
	'intelide is installed but does not start at boot (Start=3' ||
	fail "ide verdict"
j .readiness.scsi.verdict "$T/hyperv.json" | grep -q 'vioscsi' ||
	fail "scsi verdict"

# the one command refuses it: exit 1, the message, no target, no temp
sum=$(sha256sum <"$T/hyperv.img")
mkdir -p "$T/out"
"$VMCONV" "$T/hyperv.img" --to qcow2 --out "$T/out/hyperv.qcow2" \
	2>"$T/err" >/dev/null; rc=$?
cat "$T/err"
[ $rc -eq 1 ] || fail "the one command exited $rc, expected 1"
grep -q 'Windows: driver injection not supported yet: Windows 10 Pro build 19045' "$T/err" ||
	fail "the message"
grep -q 'viostor (the virtio-blk driver) is not installed' "$T/err" ||
	fail "the message does not say what is missing"
[ "$(wc -l <"$T/err")" -eq 1 ] || fail "the error is not one line"
[ -z "$(ls -A "$T/out")" ] || fail "left behind: $(ls -A "$T/out")"

# --no-inject converts it, guest unchanged
run "$VMCONV" "$T/hyperv.img" --to qcow2 --out "$T/out/hyperv.qcow2" \
	--no-inject || fail "--no-inject"
run qemu-img compare -f raw -F qcow2 "$T/hyperv.img" "$T/out/hyperv.qcow2" ||
	fail "the output differs from the source"
[ "$(sha256sum <"$T/hyperv.img")" = "$sum" ] || fail "the source changed"

# with viostor installed: nothing to do, exit 0 (the inspection is in
# the summary)
"$VMCONV" "$T/virtio.img" --to qcow2 --out "$T/out/virtio.qcow2" \
	--output=json >"$T/virtio.json" || fail "virtio.img: one command"
cat "$T/virtio.json"
want .injection.status "$T/virtio.json" ready
want .injection.message "$T/virtio.json" \
	"already bootable on virtio: nothing changed"
b=.injection.before
want $b.windows.drivers.viostor.installed "$T/virtio.json" true
want $b.windows.drivers.viostor.start_type "$T/virtio.json" boot
want $b.windows.drivers.viostor.file "$T/virtio.json" \
	/Windows/System32/drivers/viostor.sys
want $b.windows.drivers.vioscsi.installed "$T/virtio.json" true
want $b.readiness.virtio.verdict "$T/virtio.json" "virtio: ready"
want $b.readiness.scsi.verdict "$T/virtio.json" "scsi: ready"
want $b.readiness.ide.verdict "$T/virtio.json" "ide: ready"

# bad hives: still Windows, the registry reported unreadable, no crash
"$VMCONV" inspect --output=json "$T/bad.img" >"$T/bad.json" 2>"$T/err" ||
	fail "inspect bad.img: $(cat "$T/err")"
cat "$T/bad.json"
want .type "$T/bad.json" windows
j .windows.registry_error "$T/bad.json" | grep -q 'SOFTWARE' ||
	fail "the registry error does not name SOFTWARE"
j .readiness.virtio.verdict "$T/bad.json" | grep -q 'registry unreadable' ||
	fail "bad.img: virtio verdict"
exit 0
