/* Unit tests: the console and firmware logs are bounded
 * (validate/console-log.c): a guest that writes more than
 * VMC_CONSOLE_LOG_MAX gets a log of that size plus one line saying it was
 * cut, the report says so, and the terminal echo stops with the log. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "validate/engine.h"

static long size_of(FILE *f)
{
	fflush(f);
	fseek(f, 0, SEEK_END);
	return ftell(f);
}

Test(validate_console_log, flood_is_cut_at_the_cap)
{
	struct vmc_engine_run r = { 0 };
	static char chunk[1 << 20];
	char *echo_buf = NULL;
	size_t echo_len = 0;
	long sz;

	memset(chunk, 'A', sizeof(chunk));
	r.log = tmpfile();
	r.fwlog = tmpfile();
	r.echo = open_memstream(&echo_buf, &echo_len);
	r.extra = json_object();
	cr_assert(r.log && r.fwlog && r.echo);
	/* 20 MiB in 1 MiB writes, then 1 byte more */
	for (int i = 0; i < 20; i++) {
		vmc_console_out(&r, chunk, sizeof(chunk));
		vmc_firmware_out(&r, chunk, sizeof(chunk));
	}
	vmc_console_out(&r, "B", 1);
	sz = size_of(r.log);
	cr_assert_gt(sz, (long)VMC_CONSOLE_LOG_MAX);
	cr_assert_lt(sz, (long)VMC_CONSOLE_LOG_MAX + 100, "%ld", sz);
	cr_assert_eq(size_of(r.fwlog), sz, "the firmware log is cut too");
	fseek(r.log, (long)VMC_CONSOLE_LOG_MAX, SEEK_SET);
	char tail[100] = "";
	cr_assert(fread(tail, 1, sizeof(tail) - 1, r.log) > 0);
	cr_assert(strstr(tail, "log cut at 16 MiB"), "%s", tail);
	cr_assert(json_is_true(json_object_get(r.extra,
					       "console_log_truncated")));
	fflush(r.echo);
	cr_assert_eq(echo_len, (size_t)VMC_CONSOLE_LOG_MAX);
	fclose(r.echo);
	free(echo_buf);
	fclose(r.log);
	fclose(r.fwlog);
	json_decref(r.extra);
}

Test(validate_console_log, small_output_is_kept_whole)
{
	struct vmc_engine_run r = { 0 };

	r.log = tmpfile();
	r.extra = json_object();
	vmc_console_out(&r, "login: ", 7);
	vmc_firmware_out(&r, "no firmware log", 15);
	cr_assert_eq(size_of(r.log), 7);
	cr_assert_null(json_object_get(r.extra, "console_log_truncated"));
	fclose(r.log);
	json_decref(r.extra);
}
