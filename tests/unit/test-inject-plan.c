/* inject/plan.c: the change list, an initramfs's method in it and in the
 * JSON, and --initramfs's names (inject/rebuild.c). */
#include <criterion/criterion.h>
#include <string.h>

#include "inject/inject.h"
#include "inject/plan.h"

Test(plan, method_recorded)
{
	struct vmc_plan p = { 0 };
	json_t *o, *ch;

	cr_assert_eq(vmc_plan_add(&p, "/etc/fstab", "a", "b"), 0);
	cr_assert_eq(vmc_plan_add_method(&p, "/boot/initrd.img-6.1", "x",
					 "y", "direct"), 0);
	cr_assert_null(vmc_plan_method(&p, "/etc/fstab"));
	cr_assert_str_eq(vmc_plan_method(&p, "/boot/initrd.img-6.1"),
			 "direct");
	cr_assert_null(vmc_plan_method(&p, "/boot/other"));
	o = vmc_plan_json(&p);
	ch = json_object_get(o, "changes");
	cr_assert_eq(json_array_size(ch), 2);
	cr_assert_null(json_object_get(json_array_get(ch, 0), "method"));
	cr_assert_str_eq(json_string_value(json_object_get(
		json_array_get(ch, 1), "method")), "direct");
	json_decref(o);
	vmc_plan_free(&p);
}

Test(plan, method_names)
{
	enum vmc_initramfs_method m = VMC_INITRAMFS_DIRECT;

	cr_assert_eq(vmc_initramfs_method_parse("guest", &m), 0);
	cr_assert_eq(m, VMC_INITRAMFS_GUEST);
	cr_assert_eq(vmc_initramfs_method_parse("direct", &m), 0);
	cr_assert_eq(m, VMC_INITRAMFS_DIRECT);
	cr_assert_eq(vmc_initramfs_method_parse("bogus", &m), -1);
	cr_assert_eq(vmc_initramfs_method_parse("", &m), -1);
	cr_assert_eq(vmc_initramfs_method_parse("Direct", &m), -1);
	cr_assert_eq(m, VMC_INITRAMFS_DIRECT);
	cr_assert_str_eq(vmc_initramfs_method_name(VMC_INITRAMFS_GUEST),
			 "guest");
	cr_assert_str_eq(vmc_initramfs_method_name(VMC_INITRAMFS_DIRECT),
			 "direct");
}
