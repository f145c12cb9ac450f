/* The console and firmware logs are bounded: a guest that floods its
 * serial port or the debug port for the whole timeout must not fill the
 * host's disk.  Past VMC_CONSOLE_LOG_MAX bytes a log gets one line saying
 * it was cut, and the report says so (console_log_truncated); the
 * watcher still sees every byte, and the terminal echo (-v) stops with
 * the log. */
#include "validate/echo.h"
#include "validate/engine.h"

/* *done counts what was kept; past the cap it is one more, once the line
 * saying so is written.  True when something was dropped. */
static bool capped(FILE *f, uint64_t *done, const char *buf, size_t len,
		   size_t *keep)
{
	*keep = len;
	if (*done < VMC_CONSOLE_LOG_MAX && len > VMC_CONSOLE_LOG_MAX - *done)
		*keep = (size_t)(VMC_CONSOLE_LOG_MAX - *done);
	else if (*done >= VMC_CONSOLE_LOG_MAX)
		*keep = 0;
	fwrite(buf, 1, *keep, f);
	*done += *keep;
	if (*keep == len)
		return false;
	if (*done == VMC_CONSOLE_LOG_MAX) {
		fprintf(f, "\n[vmconv: log cut at %u MiB; the guest wrote "
			"more]\n", (unsigned)(VMC_CONSOLE_LOG_MAX >> 20));
		*done = VMC_CONSOLE_LOG_MAX + 1;
	}
	return true;
}

void vmc_console_out(struct vmc_engine_run *r, const char *buf, size_t len)
{
	size_t keep;

	if (capped(r->log, &r->log_bytes, buf, len, &keep) && r->extra)
		json_object_set_new(r->extra, "console_log_truncated",
				    json_true());
	fflush(r->log);
	if (r->echo && keep)
		vmc_echo(r->echo, buf, keep);
}

void vmc_firmware_out(struct vmc_engine_run *r, const char *buf, size_t len)
{
	size_t keep;

	if (r->fwlog)
		capped(r->fwlog, &r->fwlog_bytes, buf, len, &keep);
}
