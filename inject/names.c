/* Rewriting device names in fstab, crypttab, kernel command lines and
 * GRUB's device.map.
 * See inject/names.h.  Only the device field changes; the rest of each
 * line (spacing, options, comments) is kept byte for byte. */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inject/names.h"

bool vmc_name_unstable(const char *dev)
{
	static const char *const pre[] = { "/dev/sd", "/dev/hd", "/dev/xvd" };

	for (size_t i = 0; i < sizeof(pre) / sizeof(pre[0]); i++) {
		size_t l = strlen(pre[i]);
		const char *p = dev + l;

		if (strncmp(dev, pre[i], l) || !islower((unsigned char)*p))
			continue;
		while (islower((unsigned char)*p))
			p++;
		while (isdigit((unsigned char)*p))
			p++;
		return *p == 0;
	}
	return false;
}

int vmc_name_on_virtio(void *ctx, const char *dev, char *out, size_t len)
{
	const char *p = dev + 5;		/* after /dev/ */

	(void)ctx;
	if (!vmc_name_unstable(dev))
		return -1;
	p += !strncmp(p, "xvd", 3) ? 3 : 2;
	if ((size_t)snprintf(out, len, "/dev/vd%s", p) >= len)
		return -1;
	return 0;
}

/* A field: [start, end) in line. */
struct span {
	size_t start, end;
};

/* The n-th whitespace-separated field of a table line (fstab, crypttab),
 * or false for comments and short lines. */
static bool table_field(const char *line, size_t len, int n, struct span *s)
{
	size_t i = 0;

	while (i < len && isspace((unsigned char)line[i]))
		i++;
	if (i == len || line[i] == '#')
		return false;
	for (int f = 0;; f++) {
		size_t st = i;

		while (i < len && !isspace((unsigned char)line[i]))
			i++;
		if (f == n) {
			s->start = st;
			s->end = i;
			return i > st;
		}
		while (i < len && isspace((unsigned char)line[i]))
			i++;
		if (i == len)
			return false;
	}
}

/* The next root= or resume= value in a command line from *pos. */
static bool cmdline_field(const char *line, size_t len, size_t *pos,
			  struct span *s)
{
	static const char *const keys[] = { "root=", "resume=" };

	for (size_t i = *pos; i < len; i++) {
		if (i > 0 && !isspace((unsigned char)line[i - 1]) &&
		    line[i - 1] != '"' && line[i - 1] != '\'')
			continue;
		for (size_t k = 0; k < 2; k++) {
			size_t kl = strlen(keys[k]), e;

			if (len - i < kl || strncmp(line + i, keys[k], kl))
				continue;
			e = i + kl;
			while (e < len && !isspace((unsigned char)line[e]) &&
			       line[e] != '"' && line[e] != '\'')
				e++;
			s->start = i + kl;
			s->end = e;
			*pos = e;
			return true;
		}
	}
	return false;
}

/* The device fields of one line, up to max. */
static int line_fields(const char *line, size_t len,
		       enum vmc_names_kind kind, struct span *f, int max)
{
	size_t pos = 0;
	int n = 0;

	if (kind != VMC_NAMES_CMDLINE)	/* fstab: 1st field; others: 2nd */
		return table_field(line, len, kind == VMC_NAMES_FSTAB ? 0 : 1,
				   f) ? 1 : 0;
	while (n < max && cmdline_field(line, len, &pos, &f[n]))
		n++;
	return n;
}

void vmc_names_scan(const char *text, enum vmc_names_kind kind,
		    void (*fn)(void *ctx, const char *dev, unsigned line),
		    void *ctx)
{
	unsigned lineno = 1;

	for (const char *l = text; *l; lineno++) {
		size_t len = strcspn(l, "\n");
		struct span f[8];
		int n = line_fields(l, len, kind, f, 8);

		for (int i = 0; i < n; i++) {
			char dev[256];

			snprintf(dev, sizeof(dev), "%.*s",
				 (int)(f[i].end - f[i].start), l + f[i].start);
			if (vmc_name_unstable(dev))
				fn(ctx, dev, lineno);
		}
		l += len + (l[len] == '\n');
	}
}

/* One line with its unstable fields replaced, appended to out. */
static int rewrite_line(FILE *out, const char *l, size_t len,
			enum vmc_names_kind kind, const char *file,
			vmc_name_resolve_fn resolve, void *ctx,
			struct vmc_plan *plan)
{
	struct span f[8];
	int n = line_fields(l, len, kind, f, 8);
	char *newl = NULL;
	size_t newlen = 0, at = 0;
	FILE *nl = open_memstream(&newl, &newlen);
	bool changed = false;

	if (!nl)
		return -1;
	for (int i = 0; i < n; i++) {
		char dev[256], stable[256];

		snprintf(dev, sizeof(dev), "%.*s",
			 (int)(f[i].end - f[i].start), l + f[i].start);
		if (!vmc_name_unstable(dev))
			continue;
		if (resolve(ctx, dev, stable, sizeof(stable)) < 0) {
			vmc_plan_note(plan, "%s: kept %s (no file system"
				      " found for it)", file, dev);
			continue;
		}
		fwrite(l + at, 1, f[i].start - at, nl);
		fputs(stable, nl);
		at = f[i].end;
		changed = true;
	}
	fwrite(l + at, 1, len - at, nl);
	fclose(nl);
	if (changed) {
		char *before = strndup(l, len);

		if (!before || vmc_plan_add(plan, file, before, newl) < 0) {
			free(before);
			free(newl);
			return -1;
		}
		free(before);
	}
	fwrite(newl, 1, newlen, out);
	free(newl);
	return 0;
}

char *vmc_names_rewrite(const char *text, enum vmc_names_kind kind,
			const char *file, vmc_name_resolve_fn resolve,
			void *ctx, struct vmc_plan *plan)
{
	char *res = NULL;
	size_t rlen = 0;
	FILE *out = open_memstream(&res, &rlen);

	if (!out)
		return NULL;
	for (const char *l = text; *l;) {
		size_t len = strcspn(l, "\n");

		if (rewrite_line(out, l, len, kind, file, resolve, ctx,
				 plan) < 0) {
			fclose(out);
			free(res);
			return NULL;
		}
		if (l[len] == '\n')
			fputc('\n', out);
		l += len + (l[len] == '\n');
	}
	if (fclose(out) != 0) {
		free(res);
		return NULL;
	}
	return res;
}
