/* CSV rows for plan inventories (RFC 4180). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "batch/csv.h"

#define CSV_FIELD_MAX 65536

void vmc_csv_free(char **fields, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(fields[i]);
}

/* One field starting at c->pos; stops before the ',' or line end. */
static char *field(struct vmc_csv *c, const char *path,
		   struct vmc_error *err)
{
	size_t start_line = c->line, o = 0;
	char *buf = malloc(CSV_FIELD_MAX + 1);
	bool quoted;

	if (!buf) {
		vmc_error_set(err, ENOMEM, "%s: out of memory", path);
		return NULL;
	}
	while (c->pos < c->len && (c->text[c->pos] == ' ' ||
				   c->text[c->pos] == '\t'))
		c->pos++;
	quoted = c->pos < c->len && c->text[c->pos] == '"';
	c->pos += quoted;
	while (c->pos < c->len) {
		char ch = c->text[c->pos];

		if (quoted && ch == '"') {
			if (c->pos + 1 < c->len && c->text[c->pos + 1] == '"') {
				c->pos++;
			} else {
				quoted = false;
				c->pos++;
				continue;
			}
		} else if (!quoted && (ch == ',' || ch == '\n' || ch == '\r')) {
			break;
		} else if (ch == '\n') {
			c->line++;
		}
		if (o == CSV_FIELD_MAX) {
			vmc_error_set(err, EINVAL, "%s: line %zu: a field longer"
				      " than %u bytes", path, c->line,
				      CSV_FIELD_MAX);
			goto fail;
		}
		buf[o++] = ch;
		c->pos++;
	}
	if (quoted) {
		vmc_error_set(err, EINVAL, "%s: line %zu: a quoted field is"
			      " never closed", path, start_line);
		goto fail;
	}
	while (o && (buf[o - 1] == ' ' || buf[o - 1] == '\t'))
		o--;
	buf[o] = 0;
	return buf;
fail:
	free(buf);
	return NULL;
}

int vmc_csv_row(struct vmc_csv *c, char **fields, size_t max, size_t *n,
		const char *path, struct vmc_error *err)
{
	*n = 0;
	if (c->pos >= c->len)
		return 0;
	for (;;) {
		char *f;

		if (*n == max) {
			vmc_error_set(err, EINVAL, "%s: line %zu: more than %zu"
				      " fields", path, c->line, max);
			goto fail;
		}
		f = field(c, path, err);
		if (!f)
			goto fail;
		fields[(*n)++] = f;
		if (c->pos < c->len && c->text[c->pos] == ',') {
			c->pos++;
			continue;
		}
		break;
	}
	if (c->pos < c->len && c->text[c->pos] == '\r')
		c->pos++;
	if (c->pos < c->len && c->text[c->pos] == '\n')
		c->pos++;
	c->line++;
	return 1;
fail:
	vmc_csv_free(fields, *n);
	*n = 0;
	return -1;
}
