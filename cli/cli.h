/* Shared pieces of the vmconv command line. */
#ifndef VMC_CLI_H
#define VMC_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include <vmconv/vmconv.h>

#include "validate/firmware.h"
#include "validate/vm.h"

/* Each subcommand: argc/argv start at the subcommand's name. */
int vmc_cmd_convert(int argc, char **argv);
int vmc_cmd_info(int argc, char **argv);
int vmc_cmd_compare(int argc, char **argv);
int vmc_cmd_check(int argc, char **argv);
int vmc_cmd_create(int argc, char **argv);
int vmc_cmd_map(int argc, char **argv);
int vmc_cmd_formats(int argc, char **argv);
int vmc_cmd_migrate(int argc, char **argv);
int vmc_cmd_validate(int argc, char **argv);
int vmc_cmd_inspect(int argc, char **argv);
int vmc_cmd_inject(int argc, char **argv);

/* Whether libguestfs may use KVM here: the host's KVM passes the direct
 * engine's self-test (else the direct backend with TCG). */
bool vmc_cli_kvm_usable(void);

/* Human reports of an inspection and of injection's changes. */
struct vmc_guest;
struct vmc_inject_result;
void vmc_cli_print_guest(const char *image, const struct vmc_guest *g);
void vmc_cli_print_changes(const struct vmc_inject_result *r);

/* Driver injection as a step of a conversion (before_commit). */
#include "inject/inject.h"
struct vmc_cli_inject {
	struct vmc_inject_opts o;
	const char *image;		/* the name the user sees */
	const char *qfmt;		/* raw or qcow2 */
	struct vmc_inject_result r;
	bool ran;
};
int vmc_cli_inject_hook(void *ctx, const char *tmp_path,
			struct vmc_error *err);
void vmc_cli_inject_report(const struct vmc_cli_inject *ci, bool verbose);
void vmc_cli_print_injection(const struct vmc_inject_result *r);
int vmc_cli_parse_gbus(const char *s, enum vmc_guest_bus *b);
/* --initramfs=guest|direct; prints the error for any other value. */
int vmc_cli_parse_initramfs(const char *s, enum vmc_initramfs_method *m);
int vmc_cmd_measure(int argc, char **argv);
int vmc_cmd_resize(int argc, char **argv);
int vmc_cmd_snapshot(int argc, char **argv);
int vmc_cmd_dd(int argc, char **argv);
int vmc_cmd_rebase(int argc, char **argv);
int vmc_cmd_amend(int argc, char **argv);

/* Validation options shared by `validate` and the migration form: they
 * print the error and return -1 on a bad value. */
int vmc_cli_parse_bus(const char *s, enum vmc_vm_bus *b);
int vmc_cli_parse_firmware(const char *s, enum vmc_firmware *f);
int vmc_cli_parse_timeout(const char *s, unsigned *t);

/* Boot-validate as `vmconv validate` does (validate/validate.h): prints
 * the report unless report_out takes it; returns the exit code (0 booted,
 * 1 not booted, 2 could not run). */
struct vmc_validate_opts;
int vmc_cli_validate(const struct vmc_validate_opts *o, bool json,
		     json_t **report_out);

/* A validation report in words: "LABEL: BOOTED (stage S)" (LABEL the
 * image when NULL), the reason, the stages with their times, the engine
 * and the console log. */
void vmc_cli_print_report(json_t *rep, const char *label);

/* Print "vmconv: <message>" on stderr. */
void vmc_cli_error(const struct vmc_error *err);
void vmc_cli_errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The driver of path: the one fmt names, else the probed one; NULL after
 * printing why. */
const struct vmc_driver *vmc_cli_driver(const char *path, const char *fmt);

/* Print a JSON value on stdout (indented, one trailing newline). */
void vmc_cli_print_json(json_t *v);

/* "1.5 GiB" */
void vmc_cli_human_size(uint64_t n, char *buf, size_t len);

/* Parse --output=human|json; returns 0 and sets *json, or -1. */
int vmc_cli_output_format(const char *arg, bool *json);

/* -t CACHE (qemu-img's names): writeback (durable, the default) or
 * unsafe (nothing flushed); none, writethrough and directsync are
 * refused.  Prints the error and returns -1 on a bad name. */
int vmc_cli_cache_mode(const char *arg, enum vmc_cache_mode *mode);

enum vmc_progress_kind {
	VMC_PROGRESS_OFF,
	VMC_PROGRESS_BAR,	/* the bar, on a terminal only */
	VMC_PROGRESS_QEMU,	/* -p: qemu-img's percentage records */
};

/* A conversion from src to dst_path in format fmt, with the engine's
 * temporary-file and rename rules: used by convert and by the one-shot
 * migration form. */
struct vmc_cli_convert {
	const char *src_path, *src_fmt, *dst_path, *dst_fmt;
	struct vmc_opts *open_opts;	/* e.g. snapshot=NAME */
	struct vmc_opts *create_opts;	/* -o */
	bool compress, digest, json, quiet;
	enum vmc_progress_kind progress;
	unsigned threads;
	/* Called with the finished temporary file before it is renamed into
	 * place (driver injection); -1 (after printing) abandons it. */
	int (*before_commit)(void *ctx, const char *tmp_path,
			     struct vmc_error *err);
	void *hook_ctx;
	bool same_file_ok;	/* src rewritten through a new file (inject) */
	/* qemu-img convert's -n, --target-is-zero, -S, -r, --salvage */
	bool no_create, target_is_zero, sparse_set, salvage;
	bool copy_offload;		/* -C */
	size_t sparse_size;
	uint64_t rate_limit;
	enum vmc_cache_mode cache;	/* -t */
};
int vmc_cli_run_convert(const struct vmc_cli_convert *c, json_t **summary);
/* -n: into the existing dst_path (cli/run-convert-into.c). */
int vmc_cli_run_convert_into(const struct vmc_cli_convert *c,
			     json_t **summary);
/* Copy -S, -r and --salvage into the engine's parameters. */
struct vmc_convert_params;
void vmc_cli_convert_tune(const struct vmc_cli_convert *c,
			  struct vmc_convert_params *p);

/* Progress of a conversion: nothing; a bar on stderr, drawn only when
 * stderr is a terminal; or (-p) qemu-img's records "    (12.34/100%)\r",
 * terminal or not, on the stream given (stdout unless stdout carries
 * JSON), which programs written for qemu-img parse. */
struct vmc_progress;
struct vmc_progress *vmc_progress_new(enum vmc_progress_kind kind, FILE *out,
				      const char *label);
void vmc_progress_update(void *ctx, uint64_t done, uint64_t total);
/* ok: the conversion succeeded (the records then end at 100.00). */
void vmc_progress_finish(struct vmc_progress *p, bool ok);

/* Parse "[-f FMT] [--output=human|json] IMG" (info, map).  Returns -1
 * with *fmt, *json and *path set, or the exit code to return. */
int vmc_cli_image_args(int argc, char **argv, const char *usage,
		       const char **fmt, bool *json, const char **path);

/* Common usage printing: prints text and returns exit code 1 (or 0 when
 * help was asked for). */
int vmc_cli_usage(const char *text, bool asked);

/* getopt_long for a subcommand, handling what they all share: -h/--help
 * (usage on stdout, *done = 0), --output=human|json as 'J' when json is
 * not NULL (sets *json; a bad value is reported, *done = 1) and an
 * unknown option or missing argument (usage on stderr, *done = 1).
 * Returns the next option for the caller, or -1 at the end or once *done
 * is set (>= 0: the exit code to return). */
struct option;
int vmc_cli_getopt(int argc, char **argv, const char *shortopts,
		   const struct option *lo, const char *usage, bool *json,
		   int *done);

/* One -o argument of create, convert or measure (cli/create-opts.c):
 * "help" or "?" sets *help, else the key=value pairs go into opts.  -1
 * after printing the error. */
int vmc_cli_create_opt(struct vmc_opts *opts, const char *arg, bool *help);
/* Print fmt's create options from its driver table; the exit code. */
int vmc_cli_create_opts_help(const char *fmt);

#endif
