/* inject/inspect.c's vmc_inspect_again: the guest's identity (struct
 * vmc_guest_id) from the first inspection is carried over whole, and
 * nothing injection changes is.  A disk with no operating system takes
 * no libguestfs call (nothing is read again), so no handle is needed;
 * the inspection itself runs against libguestfs in the inject-*
 * integration scripts. */
#include <criterion/criterion.h>
#include <string.h>

#include "inject/inspect.h"

Test(inspect_again, identity_carried_whole)
{
	static struct vmc_guest before, after;
	struct vmc_error err = { 0 };

	/* every byte of the identity set, so a field left behind (or
	 * added later and not copied) shows as a difference */
	memset(&before, 0, sizeof(before));
	memset(&before.id, 0x5a, sizeof(before.id));
	before.id.found = false;
	before.nkernels = 3;
	before.ready[VMC_GBUS_IDE] = true;
	memset(&after, 0xa5, sizeof(after));
	cr_assert_eq(vmc_inspect_again(NULL, "disk.img", &before, &after,
				       &err), 0);
	cr_assert_eq(memcmp(&after.id, &before.id, sizeof(after.id)), 0);
	cr_assert_eq(after.nkernels, 0);
	cr_assert_eq(after.default_kernel, -1);
	cr_assert_eq(after.default_entry, -1);
	cr_assert(!after.ready[VMC_GBUS_IDE]);
}
