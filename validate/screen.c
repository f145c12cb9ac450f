/* The VGA text screen as console lines (see screen.h). */
#include <stdlib.h>
#include <string.h>

#include "validate/screen.h"

static void row_text(const uint16_t *cells, unsigned r, char *out)
{
	int n = 0;

	for (unsigned c = 0; c < VMC_SCREEN_COLS; c++) {
		unsigned ch = cells[r * VMC_SCREEN_COLS + c] & 0xff;

		/* code page 437 beyond ASCII: box drawing and such */
		out[n++] = ch >= 0x20 && ch < 0x7f ? (char)ch : ' ';
	}
	while (n && out[n - 1] == ' ')
		n--;
	out[n] = 0;
}

static void remember(struct vmc_screen *s, const char *line)
{
	if (s->nhist == VMC_SCREEN_HISTORY) {
		memmove(s->hist[0], s->hist[1],
			sizeof(s->hist[0]) * (VMC_SCREEN_HISTORY - 1));
		s->nhist--;
	}
	strcpy(s->hist[s->nhist++], line);
}

static bool emit(struct vmc_screen *s, const char *row, struct vmc_watch *w,
		 unsigned ms)
{
	char line[VMC_SCREEN_COLS + 2];
	size_t n = strlen(row);

	memcpy(line, row, n);
	line[n] = '\n';
	remember(s, row);
	if (s->log)
		fwrite(line, 1, n + 1, s->log);
	return vmc_watch_console(w, line, n + 1, ms);
}

bool vmc_screen_feed(struct vmc_screen *s, const uint16_t *cells,
		     struct vmc_watch *w, unsigned ms, bool final)
{
	char rows[VMC_SCREEN_ROWS][VMC_SCREEN_COLS + 1];
	int last = -1, overlap = 0;

	for (unsigned r = 0; r < VMC_SCREEN_ROWS; r++) {
		row_text(cells, r, rows[r]);
		if (rows[r][0])
			last = (int)r;
	}
	if (last < 0)
		return vmc_watch_done(w);
	/* the longest run of top rows equal to the newest lines seen */
	for (int p = last + 1 < (int)s->nhist ? last + 1 : (int)s->nhist;
	     p > 0; p--) {
		int i;

		for (i = 0; i < p; i++)
			if (strcmp(rows[i], s->hist[s->nhist - p + i]))
				break;
		if (i == p) {
			overlap = p;
			break;
		}
	}
	for (int r = overlap; r < last; r++)
		if (emit(s, rows[r], w, ms))
			return true;
	if (overlap > last)
		return vmc_watch_done(w);
	/* the cursor's row: a prompt while it changes, a line once it has
	 * stood still for a read (or the VM has stopped) */
	if (final || (s->have_pending && !strcmp(s->pending, rows[last]))) {
		s->have_pending = false;
		return emit(s, rows[last], w, ms) ||
		       vmc_watch_prompt(w, rows[last], ms);
	}
	strcpy(s->pending, rows[last]);
	s->have_pending = true;
	return vmc_watch_prompt(w, rows[last], ms);
}

size_t vmc_screen_parse_xp(const char *text, uint16_t *cells, size_t max)
{
	size_t n = 0;

	/* "00000000000b8000: 0x0753 0x0765 ..." */
	for (const char *p = text; n < max && (p = strstr(p, "0x")); ) {
		char *end;
		unsigned long v = strtoul(p + 2, &end, 16);

		if (end == p + 2) {
			p += 2;
			continue;
		}
		cells[n++] = (uint16_t)v;
		p = end;
	}
	return n;
}
