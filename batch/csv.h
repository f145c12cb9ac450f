/* A CSV reader for plan inventories (RFC 4180: comma separated, fields in
 * double quotes may hold commas, newlines and "" for a quote; CRLF or LF
 * line ends, as spreadsheets and CMDBs export them). */
#ifndef VMC_BATCH_CSV_H
#define VMC_BATCH_CSV_H

#include <stddef.h>

#include <vmconv/error.h>

struct vmc_csv {
	const char *text;
	size_t len, pos;
	size_t line;		/* 1-based line of pos */
};

/* Read one row into at most max malloc'd fields (trimmed of spaces
 * outside quotes).  Returns 1 with *n set, 0 at the end of the text, -1
 * with err (naming path and the line) on a malformed row. */
int vmc_csv_row(struct vmc_csv *c, char **fields, size_t max, size_t *n,
		const char *path, struct vmc_error *err);
void vmc_csv_free(char **fields, size_t n);

#endif
