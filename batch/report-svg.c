/* The boot-stage timeline of one VM as inline SVG: a bar per stage
 * reached (firmware, bootloader, kernel, root, userspace) from the time it
 * was reached to the next, then where the boot stopped. */
#define _GNU_SOURCE
#include <string.h>

#include "batch/batch.h"
#include "batch/report-html.h"

#define W 640
#define LEFT 10
#define SPAN (W - 2 * LEFT)

static const char *const colors[] = { "#8da0cb", "#66c2a5", "#fc8d62",
				      "#e78ac3", "#a6d854" };

static void segment(FILE *f, int k, const char *name, double a, double b,
		    double total, double ms)
{
	double x = LEFT + SPAN * a / total, w = SPAN * (b - a) / total;

	if (w < 2)
		w = 2;
	fprintf(f, "<rect x=\"%.1f\" y=\"18\" width=\"%.1f\" height=\"18\" "
		"fill=\"%s\"><title>%s at %.3f s</title></rect>", x, w,
		colors[k % 5], name, ms / 1000);
	fprintf(f, "<line x1=\"%.1f\" y1=\"14\" x2=\"%.1f\" y2=\"40\" "
		"stroke=\"#333\"/><text x=\"%.1f\" y=\"%d\" font-size=\"10\">"
		"%s %.2fs</text>", x, x, x + 2, k % 2 ? 52 : 11, name,
		ms / 1000);
}

void vmc_batch_html_timeline(FILE *f, json_t *val)
{
	json_t *st = json_object_get(val, "stages"), *e;
	double total = json_real_value(json_object_get(val, "seconds")) * 1000;
	bool booted = json_is_true(json_object_get(val, "booted"));
	size_t i, n = json_array_size(st);

	if (n) {
		double last = (double)json_integer_value(json_object_get(
			json_array_get(st, n - 1), "ms"));

		if (total < last)
			total = last;
	}
	if (total <= 0)
		total = 1;
	fprintf(f, "<svg class=\"timeline\" width=\"%d\" height=\"74\" "
		"viewBox=\"0 0 %d 74\" role=\"img\"><rect x=\"%d\" "
		"y=\"18\" width=\"%d\" height=\"18\" fill=\"#eee\"/>", W, W, LEFT, SPAN);
	json_array_foreach(st, i, e) {
		double a = (double)json_integer_value(json_object_get(e, "ms"));
		double b = i + 1 < n ? (double)json_integer_value(
			json_object_get(json_array_get(st, i + 1), "ms")) :
			total;

		segment(f, (int)i, json_string_value(json_object_get(e,
								     "stage")),
			a, b, total, a);
	}
	fprintf(f, "<text x=\"%d\" y=\"70\" font-size=\"11\" text-anchor="
		"\"end\" fill=\"%s\">%s at %.2fs</text></svg>\n", W - LEFT,
		booted ? "#14571a" : "#8b0000", booted ? "reached userspace" :
		"stopped", total / 1000);
}
