/* Check results: problem lines and qemu-img's exit codes. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <vmconv/check.h>

#define MAX_MESSAGES 10000

void vmc_check_report(struct vmc_check_result *res, const char *fmt, ...)
{
	char **v, *line;
	va_list ap;
	int r;

	if (res->n_messages >= MAX_MESSAGES)
		return;
	va_start(ap, fmt);
	r = vasprintf(&line, fmt, ap);
	va_end(ap);
	if (r < 0)
		return;
	v = realloc(res->messages, (res->n_messages + 1) * sizeof(*v));
	if (!v) {
		free(line);
		return;
	}
	res->messages = v;
	res->messages[res->n_messages++] = line;
}

void vmc_check_result_free(struct vmc_check_result *res)
{
	for (size_t i = 0; i < res->n_messages; i++)
		free(res->messages[i]);
	free(res->messages);
	res->messages = NULL;
	res->n_messages = 0;
}

bool vmc_image_can_check(const struct vmc_image *img)
{
	return img->drv->check != NULL;
}

int vmc_image_check(struct vmc_image *img, struct vmc_check_result *res,
		    bool repair, struct vmc_error *err)
{
	if (!vmc_image_can_check(img))
		return vmc_error_set(err, ENOTSUP,
			"%s: format %s does not support checks",
			img->filename, img->drv->name);
	return img->drv->check(img, res, repair, err);
}

int vmc_check_exit_code(const struct vmc_check_result *res)
{
	if (res->check_errors)
		return 1;
	if (res->corruptions)
		return 2;
	if (res->leaks)
		return 3;
	return 0;
}

static int cmp_range(const void *a, const void *b)
{
	uint64_t x = ((const struct vmc_file_range *)a)->off;
	uint64_t y = ((const struct vmc_file_range *)b)->off;

	return x < y ? -1 : x > y;
}

uint64_t vmc_check_overlaps(struct vmc_check_result *res,
			    struct vmc_file_range *r, size_t n)
{
	uint64_t end = 0, end_off = 0;

	qsort(r, n, sizeof(*r), cmp_range);
	for (size_t i = 0; i < n; i++) {
		if (i && r[i].off < end) {
			res->corruptions++;
			vmc_check_report(res, "blocks at file offsets 0x%"
					 PRIx64 " and 0x%" PRIx64 " overlap",
					 end_off, r[i].off);
		}
		if (r[i].off + r[i].len > end) {
			end = r[i].off + r[i].len;
			end_off = r[i].off;
		}
	}
	return end;
}
