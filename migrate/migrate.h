/* The one-command migration (vmconv SRC --to FMT [--validate]) as a
 * library call, so that the command line and batch runs share it:
 * convert SRC into FMT beside it (or at dst_path), then, when asked, boot
 * the converted disk on the target's disk controller.  Driver injection
 * goes between the two as it is built. */
#ifndef VMC_MIGRATE_MIGRATE_H
#define VMC_MIGRATE_MIGRATE_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include <vmconv/convert.h>

#include "inject/inject.h"
#include "validate/validate.h"

/* Whether a migration injects when not told: on, for KVM targets, in the
 * one command (--no-inject turns it off) and in a batch plan (its inject
 * column). */
#define VMC_MIGRATE_INJECT_DEFAULT true

struct vmc_migrate_params {
	const char *src_path;
	const char *src_fmt;		/* NULL: probe */
	const char *dst_path;		/* NULL: beside src, FMT's extension */
	const char *dst_fmt;
	struct vmc_opts *create_opts;	/* may be NULL */
	bool compress, digest;
	/* driver injection into the output (KVM targets); callers start
	 * from VMC_MIGRATE_INJECT_DEFAULT (--inject / --no-inject change it) */
	bool inject;
	bool remove_tools;		/* and the old hypervisor's tools */
	enum vmc_initramfs_method initramfs;	/* --initramfs */
	bool kvm;			/* libguestfs may use KVM */
	enum vmc_cache_mode cache;	/* -t */
	void (*progress)(void *ctx, uint64_t done, uint64_t total);
	void *progress_ctx;
	/* may be NULL: told "injecting" and "validating" as each starts
	 * (with progress_ctx) */
	void (*phase)(void *ctx, const char *phase);
	/* validate the converted disk; vo.image, vo.format and vo.boot are
	 * filled in, vo.bus too unless bus_set */
	bool validate;
	bool bus_set;
	struct vmc_validate_opts vo;
};

struct vmc_migrate_result {
	/* source, source-format, target, target-format, the conversion's
	 * counts, sha256, injection, validation (the report, or "could not
	 * run") */
	json_t *summary;
	json_t *report;			/* borrowed from summary, or NULL */
	/* set when validation was asked for and could not run */
	bool validate_failed;
	struct vmc_error validate_err;
	/* driver injection (KVM targets: raw, qcow2, when asked),
	 * run on the temporary output before it is renamed into place */
	bool injected;
	struct vmc_inject_result inject;
};

/* SRC's path with its extension replaced by the format's (malloc'd). */
char *vmc_migrate_default_target(const char *src, const char *fmt);

/* Whether fmt is made for KVM (its driver's target bus is virtio): the
 * target gets driver injection and a libvirt domain. */
bool vmc_migrate_kvm_target(const char *fmt);

/* 0 with res filled once the conversion succeeded (whatever the
 * validation found), -1 with err when it failed.  Free res with
 * vmc_migrate_result_free. */
int vmc_migrate(const struct vmc_migrate_params *p,
		struct vmc_migrate_result *res, struct vmc_error *err);
void vmc_migrate_result_free(struct vmc_migrate_result *res);

#endif
