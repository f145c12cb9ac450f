# vmconv batch: a twelve-VM batch (good sources in every format, an OVA,
# a wiped boot sector, a corrupt VMDK, a duplicate target, and a VMware VM
# with the Debian guest that boots only once its drivers are injected; four
# boot-validated with the qemu engine) run with -j 2, killed with SIGKILL
# in the middle (its workers and their QEMU go with it), resumed: finished
# VMs are not redone, each VM ends with the right verdict, DEST holds only
# whole outputs, and the exit codes are the documented ones.
# run-tests: timeout=3000
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/batch-common.inc"
requires timeout setsid
VALIDATED="raw-to-qcow2 vhdx-to-vmdk deb-vmx"
INJECT=yes
make_batch $VALIDATED wiped-mbr
cd "$T" || fail cd

# the plan: every problem listed, the estimate printed, exit 1
to 1 "$VMCONV" batch plan --dest out plan.csv > plan.txt
cat plan.txt
[ "$(grep -c PROBLEM plan.txt)" = 1 ] || fail "plan: one problem expected"
grep -q "^9 qcow2-to-raw: PROBLEM: target .*/out/qcow2-to-raw.img is also" \
	plan.txt || fail "plan: the duplicate target"
grep -q "12 VMs, estimated output up to" plan.txt || fail "no estimate"
printf 'name,source,to\nx,src/none.img,qcow2\ny,src/g.raw,nosuch\n' > bad.csv
printf 'z,src/g.raw,qcow2\n' >> bad.csv
to 1 "$VMCONV" batch plan --dest out bad.csv > bad.txt
cat bad.txt
grep -q "^0 x: PROBLEM: source: .*none.img" bad.txt || fail "missing source"
grep -q "^1 y: PROBLEM: to: unknown format 'nosuch'" bad.txt ||
	fail "unknown format"
grep -q "^2 z: " bad.txt && ! grep -q "^2 z: PROBLEM" bad.txt ||
	fail "good entry"
printf 'name,source\nx,src/g.raw\n' > worse.csv
expect_exit 1 "$VMCONV" batch plan worse.csv
to 1 "$VMCONV" batch plan --dest out --output=json plan.csv > plan.json
[ "$(jq .problems plan.json)" = 1 ] || fail "plan --output=json"

# run, in its own process group, and kill it in the middle
setsid "$VMCONV" batch run -j 2 --dest out --state st plan.csv \
	> run1.txt 2>&1 &
runner=$!
killed=
for i in $(seq 1200); do
	sleep 0.5
	kill -0 $runner 2>/dev/null || fail "the run ended before the kill"
	done_n=$(cat st/vm/*.json 2>/dev/null |
		jq -s '[.[] | select(.outcome != "unfinished")] | length')
	validating=$(cat st/vm/*.json 2>/dev/null |
		jq -s '[.[] | select(.phase == "validating")] | length')
	if [ "${done_n:-0}" -ge 1 ] && [ "${validating:-0}" -ge 1 ]; then
		killed=yes
		break
	fi
done
[ "$killed" ] || fail "never saw a VM finished and one validating"
# a second run on the same state folder is refused
to 1 "$VMCONV" batch run --dest out --state st plan.csv 2> lock.txt
grep -q "another batch run" lock.txt || fail "no lock message"
expect_exit 0 "$VMCONV" batch status --state st
# every process of the run (workers, QEMU) goes with the runner
procs=$runner
for i in 1 2 3; do
	for p in $procs; do procs="$procs $(pgrep -P "$p")"; done
done
procs=$(echo $procs | tr ' ' '\n' | sort -u)
echo "the run's processes: $procs"
[ "$(echo "$procs" | wc -w)" -ge 3 ] || fail "no workers seen"
kill -KILL $runner
for i in $(seq 50); do
	left=
	for p in $procs; do kill -0 "$p" 2>/dev/null && left="$left $p"; done
	[ -z "$left" ] && break
	sleep 0.2
done
[ -z "$left" ] || fail "processes outlived the runner:$left"
cat run1.txt
for f in st/vm/*.json; do
	jq -c '{id, outcome, phase, started}' "$f"
done > before.txt
cat before.txt

# resumed: exit 1 (VMs failed), each failure named
expect_exit 1 "$VMCONV" batch run -j 2 --dest out --state st plan.csv \
	> run2.txt 2>&1
cat run2.txt
for n in corrupt-vmdk wiped-mbr qcow2-to-raw; do
	grep -q "^FAILED $n" run2.txt || fail "run did not name $n"
done
# finished VMs were not redone
grep -v '"unfinished"' before.txt | while read -r line; do
	id=$(echo "$line" | jq .id)
	[ "$(jq -c '{id, outcome, phase, started}' st/vm/$id.json)" = \
	  "$line" ] || fail "VM $id was redone"
done || exit 1
expect_exit 0 "$VMCONV" batch report --state st --json r.json --html r.html
check_outcomes r.json
check_outputs out
[ "$(ls -A st/logs | grep -c '\.log$')" -ge 11 ] || fail "logs"
# the validator's report as the one-command form gives it
[ "$(field r.json '.vms[0].validation.stage')" = userspace ] ||
	fail "stage"
[ "$(field r.json '[.vms[0].validation.stages[].stage] | join(",")')" = \
  firmware,bootloader,kernel,root,userspace ] || fail "stages"
[ -s "$(field r.json '.vms[0].validation.console_log')" ] ||
	fail "console log"
[ "$(field r.json '.vms[1].sha256')" = \
  "$(sha256sum < "$tiny" | cut -d' ' -f1)" ] || fail "digest"
[ "$(field r.json '.summary.ready')" = 3 ] || fail "summary"

# the VM that needed injection: its boot disk changed (the changes listed
# as the one-command form lists them), its data disk left alone
# (check_outputs), booted with its two vCPUs and 1 GiB
jq '.vms[11] | {outcome, reason, injection: (.injection | {status,
	message, changes})}' r.json
[ "$(field r.json '.vms[11].injection.status')" = changed ] ||
	fail "deb-vmx: not injected"
[ "$(field r.json '.vms[11].injection.changes | length')" -ge 1 ] ||
	fail "deb-vmx: no change listed"
[ "$(field r.json '.vms[11].validation.vcpus')" = 2 ] || fail "vcpus"
[ "$(field r.json '.vms[11].validation.bus')" = virtio ] || fail "bus"
grep -q 'vcpu[^>]*>2</vcpu>' out/deb-vmx.xml || fail "domain's vCPUs"
grep -q "$T/out/deb-vmx-1.qcow2" out/deb-vmx.xml || fail "data disk"

# a finished VM is skipped by run-one; a third run redoes nothing and
# still exits 1 for the earlier failures; status and report
expect_exit 0 "$VMCONV" batch run-one --state "$T/st" --id 0
expect_exit 1 "$VMCONV" batch run-one --state "$T/st" --id 8
cp st/vm/0.json 0.before
expect_exit 1 "$VMCONV" batch run --dest out --state st plan.csv
cmp 0.before st/vm/0.json || fail "a third run redid VM 0"
to 0 "$VMCONV" batch status --state st > status.txt
cat status.txt
grep -q "12 VMs: 3 ready, 6 converted, 1 not ready, 2 failed" status.txt ||
	fail "status summary"
to 0 "$VMCONV" batch status --state st --output=json > s.json
jq -e '.vms | length == 12' s.json >/dev/null || fail "status json"
expect_exit 1 "$VMCONV" batch status --state nowhere
# a target deleted after the run is redone
rm out/vhd-to-raw.img
expect_exit 1 "$VMCONV" batch run --dest out --state st plan.csv
qemu-img compare -q src/g.vhd out/vhd-to-raw.img || fail "redo"
# the OVA's VM: its disk and a libvirt domain naming it
grep -q "$T/out/ova-to-qcow2.qcow2" out/ova-to-qcow2.xml || fail "domain XML"
[ "$(field r.json '.vms[10].source')" = "$T/src/web01.ova" ] || fail "ova"
exit 0
