/* Check results: the overlap finder shared by the VHDX and VHD checks,
 * and qemu-img's exit codes. */
#include <string.h>

#include <criterion/criterion.h>

#include <vmconv/check.h>

Test(check, no_overlap_gives_the_furthest_end)
{
	struct vmc_check_result res = { 0 };
	struct vmc_file_range r[] = { { 300, 100 }, { 0, 100 }, { 100, 200 } };

	cr_assert_eq(vmc_check_overlaps(&res, r, 3), 400);
	cr_assert_eq(res.corruptions, 0);
	cr_assert_eq(r[0].off, 0, "sorted by offset");
	cr_assert_eq(vmc_check_exit_code(&res), 0);
	vmc_check_result_free(&res);
}

Test(check, overlap_of_neighbours)
{
	struct vmc_check_result res = { 0 };
	struct vmc_file_range r[] = { { 0x1000, 0x1000 }, { 0x1800, 0x1000 } };

	cr_assert_eq(vmc_check_overlaps(&res, r, 2), 0x2800);
	cr_assert_eq(res.corruptions, 1);
	cr_assert_eq(res.n_messages, 1);
	cr_assert_str_eq(res.messages[0],
			 "blocks at file offsets 0x1000 and 0x1800 overlap");
	cr_assert_eq(vmc_check_exit_code(&res), 2);
	vmc_check_result_free(&res);
}

/* a large block holding two small ones: both are inside it */
Test(check, ranges_inside_a_large_one)
{
	struct vmc_check_result res = { 0 };
	struct vmc_file_range r[] = { { 0, 0x10000 }, { 0x2000, 0x100 },
				      { 0x8000, 0x100 } };

	cr_assert_eq(vmc_check_overlaps(&res, r, 3), 0x10000);
	cr_assert_eq(res.corruptions, 2);
	cr_assert_str_eq(res.messages[1],
			 "blocks at file offsets 0x0 and 0x8000 overlap");
	vmc_check_result_free(&res);
}

Test(check, touching_ranges_do_not_overlap)
{
	struct vmc_check_result res = { 0 };
	struct vmc_file_range r[] = { { 512, 512 }, { 0, 512 } };

	cr_assert_eq(vmc_check_overlaps(&res, r, 2), 1024);
	cr_assert_eq(res.corruptions, 0);
	cr_assert_eq(vmc_check_overlaps(&res, r, 0), 0);
	vmc_check_result_free(&res);
}
