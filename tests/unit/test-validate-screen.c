/* Unit tests: the VGA text screen turned into console lines
 * (validate/screen.c): scrolling, the cursor's row as a prompt, QEMU's
 * "xp" output. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "validate/screen.h"

static uint16_t cells[VMC_SCREEN_ROWS * VMC_SCREEN_COLS];

static void put_rows(const char *const *rows, int n)
{
	for (int i = 0; i < VMC_SCREEN_ROWS * VMC_SCREEN_COLS; i++)
		cells[i] = 0x0720;
	for (int r = 0; r < n && r < VMC_SCREEN_ROWS; r++)
		for (int c = 0; rows[r][c] && c < VMC_SCREEN_COLS; c++)
			cells[r * VMC_SCREEN_COLS + c] =
				0x0700 | (unsigned char)rows[r][c];
}

Test(screen, scrolling_screens_give_each_line_once)
{
	struct vmc_screen s = { 0 };
	struct vmc_error err;
	struct vmc_watch *w = vmc_watch_new(VMC_BUS_VIRTIO, "^MARK$", &err);
	char *buf = NULL;
	size_t len = 0;
	const char *a[] = { "SeaBIOS (version 1.16.2)", "Booting from Hard Disk...",
			    "[    0.000000] Linux version 6.1.0", "" };
	const char *b[] = { "Booting from Hard Disk...",
			    "[    0.000000] Linux version 6.1.0",
			    "[    1.000000] Run /init as init process",
			    "[    2.000000] EXT4-fs (vda2): mounted filesystem",
			    "MARK", "" };

	cr_assert_not_null(w);
	s.log = open_memstream(&buf, &len);
	put_rows(a, 4);
	cr_assert_not(vmc_screen_feed(&s, cells, w, 100, false));
	put_rows(a, 4);
	cr_assert_not(vmc_screen_feed(&s, cells, w, 200, false));
	put_rows(b, 6);
	cr_assert_not(vmc_screen_feed(&s, cells, w, 300, false));
	/* "MARK" stands still under the cursor: now it is a line */
	cr_assert(vmc_screen_feed(&s, cells, w, 400, false));
	fclose(s.log);
	/* each line once, in order; the row under the cursor (empty
	 * here) is not a line */
	cr_assert_str_eq(buf, "SeaBIOS (version 1.16.2)\n"
			 "Booting from Hard Disk...\n"
			 "[    0.000000] Linux version 6.1.0\n"
			 "[    1.000000] Run /init as init process\n"
			 "[    2.000000] EXT4-fs (vda2): mounted filesystem\n"
			 "MARK\n");
	cr_assert(vmc_watch_verdict(w)->booted);
	cr_assert(vmc_watch_verdict(w)->reached[VMC_STAGE_KERNEL]);
	cr_assert(vmc_watch_verdict(w)->reached[VMC_STAGE_ROOT]);
	free(buf);
	vmc_watch_free(w);
}

Test(screen, login_prompt_on_the_cursor_row)
{
	struct vmc_screen s = { 0 };
	struct vmc_error err;
	struct vmc_watch *w = vmc_watch_new(VMC_BUS_IDE, NULL, &err);
	const char *a[] = { "[    3.1] EXT4-fs (sda2): mounted filesystem",
			    "Debian GNU/Linux 12 host tty1", "",
			    "host login: " };

	put_rows(a, 4);
	cr_assert(vmc_screen_feed(&s, cells, w, 900, false));
	cr_assert(vmc_watch_verdict(w)->booted);
	vmc_watch_free(w);
}

Test(screen, blank_and_garbage_screens)
{
	struct vmc_screen s = { 0 };
	struct vmc_error err;
	struct vmc_watch *w = vmc_watch_new(VMC_BUS_IDE, NULL, &err);

	for (int i = 0; i < VMC_SCREEN_ROWS * VMC_SCREEN_COLS; i++)
		cells[i] = 0;
	cr_assert_not(vmc_screen_feed(&s, cells, w, 1, false));
	for (int i = 0; i < VMC_SCREEN_ROWS * VMC_SCREEN_COLS; i++)
		cells[i] = (uint16_t)(i * 7919);
	for (int k = 0; k < 100; k++)
		vmc_screen_feed(&s, cells, w, 2, k == 99);
	cr_assert_not(vmc_watch_verdict(w)->booted);
	vmc_watch_free(w);
}

Test(screen, parse_qemu_xp)
{
	uint16_t c[4];
	const char *t = "00000000000b8000: 0x0753 0x0765 0x0741\r\n"
			"00000000000b8006: 0x0742\r\n";

	cr_assert_eq(vmc_screen_parse_xp(t, c, 4), 4);
	cr_assert_eq(c[0], 0x0753);
	cr_assert_eq(c[3], 0x0742);
	cr_assert_eq(vmc_screen_parse_xp("nothing", c, 4), 0);
	cr_assert_eq(vmc_screen_parse_xp(t, c, 2), 2);
}
