/* The boot-stage timeline of one VM as inline SVG: a bar per stage
 * reached (firmware, bootloader, kernel, root, userspace) from the time it
 * was reached to the next, then where the boot stopped.
 *
 * Stages often come close together (a boot loader that hands over to the
 * kernel in 50 ms), so their labels are laid out, not just placed: each
 * label ("kernel 0.42s") goes on the first row where it does not overlap
 * the labels already there, row 0 above the bar and the others below it,
 * with a leader line from its stage's mark.  Widths are estimated from a
 * monospace font, so the layout holds wherever the report is opened. */
#define _GNU_SOURCE
#include <string.h>

#include "batch/batch.h"
#include "batch/report-html.h"

#define W 640
#define LEFT 10
#define SPAN (W - 2 * LEFT)
#define BAR_Y 18
#define BAR_H 18
/* more rows than the five stages: there is always a free one */
#define ROWS 6
#define ROW_H 13
#define FONT 10
#define CHAR_W 6.4		/* a 10 px monospace glyph is about 6 px */
#define GAP 6

static const char *const colors[] = { "#8da0cb", "#66c2a5", "#fc8d62",
				      "#e78ac3", "#a6d854" };

struct label {
	double x;		/* the stage's mark */
	double at;		/* where the text starts */
	double w;
	int row;
};

/* The baseline of a row: row 0 above the bar, the others below. */
static int row_y(int row)
{
	return row == 0 ? BAR_Y - 6 : BAR_Y + BAR_H + 2 + row * ROW_H;
}

/* Put lab on the first row where it clears every label already there. */
static void place(struct label *lab, const struct label *done, size_t n)
{
	lab->at = lab->x + 2;
	if (lab->at + lab->w > W)
		lab->at = W - lab->w;
	for (lab->row = 0; lab->row < ROWS - 1; lab->row++) {
		bool clear = true;

		for (size_t i = 0; i < n && clear; i++)
			clear = done[i].row != lab->row ||
				lab->at >= done[i].at + done[i].w + GAP ||
				lab->at + lab->w + GAP <= done[i].at;
		if (clear)
			return;
	}
}

static void segment(FILE *f, int k, const char *name, double a, double b,
		    double total, double ms)
{
	double x = LEFT + SPAN * a / total, w = SPAN * (b - a) / total;

	if (w < 2)
		w = 2;
	fprintf(f, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" "
		"fill=\"%s\"><title>%s at %.3f s</title></rect>", x, BAR_Y, w,
		BAR_H, colors[k % 5], name, ms / 1000);
}

/* The leader, from the stage's mark to its label's row. */
static void leader(FILE *f, const struct label *l)
{
	int y = row_y(l->row);

	fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
		"stroke=\"#333\"/>", l->x, l->row ? BAR_Y : y + 2, l->x,
		l->row ? y - FONT + 1 : BAR_Y + BAR_H);
}

/* Drawn after every leader, with a white halo, so that a leader on its
 * way to a lower row never runs through a label's text. */
static void label(FILE *f, const struct label *l, const char *name,
		  double ms)
{
	fprintf(f, "<text class=\"stage\" x=\"%.1f\" y=\"%d\" "
		"stroke=\"#fff\" stroke-width=\"3\" paint-order=\"stroke\">"
		"%s %.2fs</text>", l->at, row_y(l->row), name, ms / 1000);
}

static double stage_ms(json_t *st, size_t i)
{
	return (double)json_integer_value(json_object_get(
		json_array_get(st, i), "ms"));
}

static const char *stage_name(json_t *st, size_t i)
{
	const char *s = json_string_value(json_object_get(
		json_array_get(st, i), "stage"));

	return s ? s : "";
}

void vmc_batch_html_timeline(FILE *f, json_t *val)
{
	json_t *st = json_object_get(val, "stages");
	double total = json_number_value(json_object_get(val,
							  "seconds")) * 1000;
	bool booted = json_is_true(json_object_get(val, "booted"));
	size_t i, n = json_array_size(st);
	struct label labs[16];
	int rows = 1, h;

	if (n > 16)
		n = 16;
	if (n && total < stage_ms(st, n - 1))
		total = stage_ms(st, n - 1);
	if (total <= 0)
		total = 1;
	for (i = 0; i < n; i++) {
		char text[64];

		labs[i].x = LEFT + SPAN * stage_ms(st, i) / total;
		labs[i].w = CHAR_W * snprintf(text, sizeof(text), "%s %.2fs",
					      stage_name(st, i),
					      stage_ms(st, i) / 1000);
		place(&labs[i], labs, i);
		if (labs[i].row + 1 > rows)
			rows = labs[i].row + 1;
	}
	h = row_y(rows > 1 ? rows - 1 : 0) + ROW_H + 4;
	if (h < BAR_Y + BAR_H + ROW_H + 4)
		h = BAR_Y + BAR_H + ROW_H + 4;
	fprintf(f, "<svg class=\"timeline\" width=\"%d\" height=\"%d\" "
		"viewBox=\"0 0 %d %d\" role=\"img\" font-family=\"DejaVu Sans "
		"Mono, monospace\" font-size=\"%d\"><rect x=\"%d\" y=\"%d\" "
		"width=\"%d\" height=\"%d\" fill=\"#eee\"/>", W, h, W, h, FONT,
		LEFT, BAR_Y, SPAN, BAR_H);
	for (i = 0; i < n; i++) {
		segment(f, (int)i, stage_name(st, i), stage_ms(st, i),
			i + 1 < n ? stage_ms(st, i + 1) : total, total,
			stage_ms(st, i));
		leader(f, &labs[i]);
	}
	for (i = 0; i < n; i++)
		label(f, &labs[i], stage_name(st, i), stage_ms(st, i));
	fprintf(f, "<text class=\"end\" x=\"%d\" y=\"%d\" font-size=\"11\" "
		"text-anchor=\"end\" fill=\"%s\">%s at %.2fs</text></svg>\n",
		W - LEFT, h - 4, booted ? "#14571a" : "#8b0000", booted ?
		"reached userspace" : "stopped", total / 1000);
}
