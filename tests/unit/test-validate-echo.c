/* Unit tests: the guest console as shown on a terminal (validate/echo.c):
 * escape sequences and other control bytes come out as \xNN text, plain
 * text and newlines unchanged. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "validate/echo.h"

static char *shown(const char *in, size_t len)
{
	char *out = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&out, &n);

	cr_assert_not_null(f);
	vmc_echo(f, in, len);
	fclose(f);
	return out;
}

Test(validate_echo, control_bytes_are_escaped)
{
	/* a window-title change, a clear screen, a bell, a C1 CSI */
	static const char in[] = "ok\n\x1b]0;pwned\x07\x1b[2J\r\n\x9b" "5n\t.";
	char *s = shown(in, sizeof(in) - 1);

	cr_assert_str_eq(s, "ok\n\\x1b]0;pwned\\x07\\x1b[2J\n\\x9b5n\t.");
	cr_assert_null(strchr(s, 0x1b));
	free(s);
}

Test(validate_echo, plain_text_unchanged)
{
	char *s = shown("Linux version 6.1\nlogin: ", 25);

	cr_assert_str_eq(s, "Linux version 6.1\nlogin: ");
	free(s);
}
