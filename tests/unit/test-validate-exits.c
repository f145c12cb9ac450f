/* Unit tests: the exit counts per boot stage.  The VM process hands its
 * counts to the parent before console lines (validate/vmm/sandbox.c's
 * STATS message, under the VMM's own allow-list) and in its result; the
 * validator splits them at the stages the watcher saw
 * (validate/exits.c). */
#include "vmm-test.h"
#include "validate/exits.h"

static struct vmc_vm_stats got;
static unsigned nstats;

static void on_stats(void *ctx, const struct vmc_vm_stats *s)
{
	(void)ctx;
	got = *s;
	nstats++;
}

static bool on_console(void *ctx, const char *buf, size_t len)
{
	(void)ctx;
	(void)buf;
	(void)len;
	cr_assert_eq(nstats, 1, "the counts come before the line");
	return false;
}

static int body(void *arg, int chan, const struct vmc_vm_config *cfg,
		struct vmc_vm_result *res, struct vmc_error *err)
{
	struct vmc_vm_stats s = { .kvm = true };

	(void)arg;
	if (vmc_seccomp_install(1000, 1001, chan, err) < 0)
		return -1;
	s.n[VMC_STAT_SERIAL] = 5;
	s.n[VMC_STAT_KVM_EXITS] = 1234;
	cfg->on_stats(cfg->ctx, &s);
	cfg->on_console(cfg->ctx, "line\n", 5);
	res->stats = s;
	res->stats.n[VMC_STAT_KVM_EXITS] = 2000;
	res->exit = VMC_VM_POWEROFF;
	return 0;
}

Test(validate_exits, counts_cross_the_sandbox)
{
	struct vmc_vm_config cfg = { 0 };
	struct vmc_vm_result res;
	struct vmc_error err = { 0 };

	cfg.on_console = on_console;
	cfg.on_stats = on_stats;
	cr_assert_eq(vmc_sandbox_run(&cfg, body, NULL, 20000, &res, &err), 0,
		     "%s", err.msg);
	cr_assert_eq(res.exit, VMC_VM_POWEROFF, "%s", res.reason);
	cr_assert_eq(nstats, 1);
	cr_assert(got.kvm);
	cr_assert_eq(got.n[VMC_STAT_SERIAL], 5);
	cr_assert_eq(got.n[VMC_STAT_KVM_EXITS], 1234);
	cr_assert(res.stats.kvm);
	cr_assert_eq(res.stats.n[VMC_STAT_KVM_EXITS], 2000);
}

static long long phase(json_t *j, size_t i, const char *key)
{
	json_t *p = json_array_get(json_object_get(j, "phases"), i);

	cr_assert(p, "phase %zu", i);
	if (!strcmp(key, "phase"))
		return strcmp(json_string_value(json_object_get(p, key)),
			      "kernel") == 0;
	return json_integer_value(json_object_get(p, key));
}

Test(validate_exits, split_at_the_stages_seen)
{
	struct vmc_exit_split x = { 0 };
	struct vmc_verdict v = { 0 };
	struct vmc_vm_stats s = { .kvm = true }, end;
	json_t *j;

	s.n[VMC_STAT_IDE_DATA] = 10;
	vmc_exits_update(&x, &s);
	v.reached[VMC_STAGE_FIRMWARE] = true;
	v.stage_ms[VMC_STAGE_FIRMWARE] = 100;
	vmc_exits_mark(&x, &v);
	s.n[VMC_STAT_IDE_DATA] = 25;
	vmc_exits_update(&x, &s);
	vmc_exits_mark(&x, &v);		/* nothing new */
	v.reached[VMC_STAGE_KERNEL] = true;
	v.stage_ms[VMC_STAGE_KERNEL] = 900;
	vmc_exits_mark(&x, &v);
	end = s;
	end.n[VMC_STAT_IDE_DATA] = 100;
	j = vmc_exits_json(&x, &v, &end, 5000);
	cr_assert_eq(json_array_size(json_object_get(j, "phases")), 3);
	cr_assert_eq(phase(j, 0, "ide_data"), 10, "start");
	cr_assert_eq(phase(j, 1, "ide_data"), 15, "firmware");
	cr_assert_eq(phase(j, 1, "from_ms"), 100);
	cr_assert_eq(phase(j, 1, "to_ms"), 900);
	cr_assert_eq(phase(j, 2, "ide_data"), 75, "kernel to the end");
	cr_assert_eq(phase(j, 2, "phase"), 1);
	cr_assert_eq(phase(j, 2, "to_ms"), 5000);
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(j,
		"total"), "ide_data")), 100);
	cr_assert(json_object_get(json_object_get(j, "total"), "kvm_exits"));
	json_decref(j);
	/* a kernel without the counters: they are left out, not zero */
	end.kvm = false;
	j = vmc_exits_json(&x, &v, &end, 5000);
	cr_assert_null(json_object_get(json_object_get(j, "total"),
				       "kvm_exits"));
	json_decref(j);
}
