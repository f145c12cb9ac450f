/* vmconv error messages: see include/vmconv/error.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <vmconv/error.h>

static void vset(struct vmc_error *err, int code, const char *fmt, va_list ap)
{
	err->code = code > 0 ? code : EINVAL;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
}

int vmc_error_set(struct vmc_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -1;
	va_start(ap, fmt);
	vset(err, code, fmt, ap);
	va_end(ap);
	return -1;
}

int vmc_error_errno(struct vmc_error *err, int code, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (!err)
		return -1;
	va_start(ap, fmt);
	vset(err, code, fmt, ap);
	va_end(ap);
	n = strlen(err->msg);
	snprintf(err->msg + n, sizeof(err->msg) - n, ": %s", strerror(code));
	return -1;
}

void vmc_error_prefix(struct vmc_error *err, const char *fmt, ...)
{
	char old[VMC_ERROR_MSG_MAX];
	va_list ap;
	size_t n;

	if (!err)
		return;
	memcpy(old, err->msg, sizeof(old));
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	n = strlen(err->msg);
	snprintf(err->msg + n, sizeof(err->msg) - n, ": %s", old);
}

void vmc_error_clear(struct vmc_error *err)
{
	if (err) {
		err->code = 0;
		err->msg[0] = '\0';
	}
}
