/* The guest's console shown on a terminal (--verbose): the guest is
 * hostile and its bytes could drive the terminal (escape sequences that
 * retitle the window, rewrite the screen, or on some terminals answer
 * back into the input), so every byte that is not printable ASCII, a
 * newline or a tab is shown as \xNN.  The log file keeps the raw bytes. */
#include <stdio.h>

#include "validate/echo.h"

void vmc_echo(FILE *f, const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (c == '\n' || c == '\t' || (c >= 0x20 && c < 0x7f))
			fputc(c, f);
		else if (c != '\r')
			fprintf(f, "\\x%02x", c);
	}
	fflush(f);
}
