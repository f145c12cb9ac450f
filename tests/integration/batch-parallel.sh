# vmconv batch on other engines: the eleven-VM batch through GNU parallel
# (`batch emit --engine=parallel` piped to `parallel -j 2`) gives the same
# report as `batch run -j 2`; the Slurm array script and the Kubernetes
# Indexed Job run the same run-one for the index they are given.
# run-tests: timeout=1500
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/batch-common.inc"
requires parallel
VALIDATED="raw-to-qcow2"
make_batch $VALIDATED wiped-mbr
cd "$T" || fail cd
mkdir out2 out3

# the job list: one complete command per VM, vmconv's absolute path
to 0 "$VMCONV" batch emit --engine=parallel --dest out2 --state st2 \
	plan.csv > jobs.txt
cat jobs.txt
[ "$(wc -l < jobs.txt)" = 11 ] || fail "not one job per VM"
vm=$(readlink -f "$VMCONV")
grep -vq "^'$vm' batch run-one --state '$T/st2' --id [0-9]*$" jobs.txt &&
	fail "a job line is not the run-one command"
# parallel exits with the number of failed jobs: the three failed VMs
expect_exit 3 parallel -j 2 < jobs.txt
expect_exit 0 "$VMCONV" batch report --state st2 --json p.json
check_outcomes p.json
check_outputs out2
# the same batch through the local pool: the same report
expect_exit 1 "$VMCONV" batch run -j 2 --dest out --state st plan.csv
expect_exit 0 "$VMCONV" batch report --state st --json r.json
project r.json > r.proj
project p.json > p.proj
diff -u r.proj p.proj || fail "parallel's report differs from run's"
# parallel again: every job skips (finished), same failures
expect_exit 3 parallel -j 2 < jobs.txt
cmp <(project p.json) <("$VMCONV" batch report --state st2 --json /dev/stdout \
	>/dev/null; "$VMCONV" batch report --state st2 --json p2.json;
	project p2.json) || fail "a second parallel pass changed the report"

# Slurm: an array over the ids; the script runs the task it is given
run "$VMCONV" batch emit --engine=slurm -j 4 --dest out3 --state st3 \
	-o job.sbatch plan.csv
cat job.sbatch
grep -q '^#SBATCH --array=0-10%4$' job.sbatch || fail "sbatch array"
SLURM_ARRAY_TASK_ID=1 sh job.sbatch || fail "the array task for VM 1"
[ "$(jq -r .outcome st3/vm/1.json)" = converted ] || fail "slurm task"
qemu-img compare -q src/g.qcow2 out3/qcow2-to-raw.img || fail "slurm output"

# Kubernetes: an Indexed Job whose pods run the id of their index
to 0 "$VMCONV" batch emit --engine=k8s -j 3 --image registry.example/vmconv \
	--claim migr --dest out3 --state st3 plan.csv > job.yaml
cat job.yaml
for want in 'kind: Job' 'completionMode: Indexed' 'completions: 11' \
	'parallelism: 3' 'claimName: "migr"' \
	'image: "registry.example/vmconv"' "mountPath: \"$T/st3\""; do
	grep -qF "$want" job.yaml || fail "k8s manifest lacks $want"
done
cmd=$(sed -n 's/^ *command: \["sh", "-c", \(.*\)\]$/\1/p' job.yaml |
	jq -r .)
JOB_COMPLETION_INDEX=4 sh -c "$cmd" || fail "the pod command for VM 4"
[ "$(jq -r .outcome st3/vm/4.json)" = converted ] || fail "k8s index"
expect_exit 1 "$VMCONV" batch emit --engine=cron --state st3 plan.csv
exit 0
