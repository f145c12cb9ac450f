/* Whole VMs on the command line (cli/cmd-vm.c). */
#ifndef VMC_CLI_VM_H
#define VMC_CLI_VM_H

#include <stdbool.h>

#include "cli/cli.h"
#include "validate/validate.h"

/* `vmconv info` on a VM configuration. */
int vmc_cli_vm_info(const char *path, bool json);

/* The one-shot form with a VM configuration as its source: c->src_path
 * the configuration, c->dst_fmt a disk format or "ova", c->dst_path the
 * --out folder (disk formats) or file (ova), or NULL.  vo holds the
 * --validate options (bus_set when --bus was given); remove_tools: the
 * boot disk's injection removes the old hypervisor's guest tools;
 * initramfs: its initramfs method (--initramfs). */
int vmc_cli_vm_migrate(const struct vmc_cli_convert *c,
		       struct vmc_validate_opts *vo, bool validate,
		       bool bus_set, bool no_inject, bool remove_tools,
		       enum vmc_initramfs_method initramfs);

#endif
