/* A scratch folder per test for the Criterion unit tests:
 *   TestSuite(name, .init = scratch_setup, .fini = scratch_teardown);
 * scratch_dir holds its path while the test runs. */
#ifndef VMC_TESTS_SCRATCH_H
#define VMC_TESTS_SCRATCH_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char scratch_dir[64];

static inline void scratch_setup(void)
{
	strcpy(scratch_dir, "/tmp/vmconv-unit-XXXXXX");
	cr_assert_not_null(mkdtemp(scratch_dir));
}

static inline void scratch_teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", scratch_dir);
	cr_assert_eq(system(cmd), 0);
}

#endif
