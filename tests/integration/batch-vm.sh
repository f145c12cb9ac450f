# vmconv batch with whole-VM sources, without booting anything: the plan
# opens every disk a .vmx names (a missing one is a problem before
# anything runs; the estimate is the disks' sum), a UEFI VM asked to be
# validated is converted and not booted ("converted", the reason naming
# UEFI), its disks and libvirt domain (OVMF) land in DEST, and the inject
# column is kept in plan.json.
. "$(dirname "$0")/lib.sh"
requires qemu-img qemu-io jq
cd "$T" || fail cd
mkdir -p ws gone out
qemu-img create -q -f vmdk ws/ws.vmdk 32M
qemu-io -c 'write -P 0x5a 0 1M' ws/ws.vmdk > /dev/null
qemu-img create -q -f vmdk ws/ws_1.vmdk 8M
cat > ws/ws.vmx <<'EOF'
displayName = "ws efi"
firmware = "efi"
guestOS = "other5xlinux-64"
memsize = "512"
numvcpus = "2"
nvme0.present = "TRUE"
nvme0:0.present = "TRUE"
nvme0:0.fileName = "ws.vmdk"
nvme0:1.present = "TRUE"
nvme0:1.fileName = "ws_1.vmdk"
EOF
sed 's/ws_1.vmdk/nowhere.vmdk/' ws/ws.vmx > gone/gone.vmx
cp ws/ws.vmdk gone/ws.vmdk
printf 'name,source,to,validate,inject\nefi,ws/ws.vmx,qcow2,no,no\n' \
	> plan.csv
printf 'gone,gone/gone.vmx,qcow2,no,\n' >> plan.csv

expect_exit 1 "$VMCONV" batch plan --dest out plan.csv > plan.txt
cat plan.txt
grep -q "^1 gone: PROBLEM: source: .*nowhere.vmdk" plan.txt ||
	fail "a missing disk of a .vmx is not a problem of the plan"
grep -q "^0 efi: .* (qcow2), up to [0-9.]* MiB" plan.txt ||
	fail "the VM's estimate"

sed -i '$d' plan.csv
expect_exit 0 "$VMCONV" batch run -j 1 --dest out --state st plan.csv
[ "$(jq -r ".[0].inject" st/plan.json)" = false ] || fail "plan.json"
expect_exit 0 "$VMCONV" batch report --state st --json r.json
jq '.vms[0] | {outcome, reason, validation}' r.json
[ "$(jq -r '.vms[0].outcome' r.json)" = converted ] || fail "outcome"
[ "$(ls out | sort | tr '\n' ' ')" = "efi-1.qcow2 efi.qcow2 efi.xml " ] ||
	fail "out holds $(ls out)"
grep -q "OVMF" out/efi.xml || fail "no OVMF loader in the domain"
qemu-img compare -q ws/ws.vmdk out/efi.qcow2 || fail "boot disk differs"
qemu-img compare -q ws/ws_1.vmdk out/efi-1.qcow2 || fail "data disk differs"
ls -A st/tmp 2>/dev/null | grep -q . && fail "scratch left in the state"
exit 0
