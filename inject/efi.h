/* The EFI system partition of a UEFI guest, and the repair a migration
 * needs (inject/efi-fallback.c): the firmware's boot entries (NVRAM) stay
 * on the old hypervisor, so on the new one the firmware finds only the
 * removable-media path \EFI\BOOT\BOOTX64.EFI.  Where it is missing, the
 * guest's own loader (shim with its GRUB, GRUB alone, or Windows Boot
 * Manager) is copied there. */
#ifndef VMC_INJECT_EFI_H
#define VMC_INJECT_EFI_H

#include <stdbool.h>

#include <guestfs.h>
#include <jansson.h>

#include <vmconv/error.h>

#define VMC_ESP_LOADERS 16

struct vmc_esp {
	bool found;
	char device[64];		/* the appliance's name: /dev/sda1 */
	int partition;			/* its number */
	/* EFI applications under \EFI\*\ as the firmware names them:
	 * "\EFI\debian\grubx64.efi" */
	char loaders[VMC_ESP_LOADERS][256];
	int nloaders;
	bool fallback;			/* \EFI\BOOT\BOOTX64.EFI exists */
	char error[256];		/* why it could not be read, or "" */
};

struct vmc_plan;
struct vmc_inject_opts;
struct vmc_inject_result;

/* Find the EFI system partition (GPT type C12A7328-...) of the disk in g
 * (launched, nothing mounted) and list its loaders; leaves nothing
 * mounted.  Never fails: esp->error says what could not be read. */
void vmc_esp_inspect(guestfs_h *g, struct vmc_esp *esp);

/* {"partition", "loaders": [...], "fallback": bool, "error"} or null. */
json_t *vmc_esp_json(const struct vmc_esp *esp);

/* Copy the guest's loader to \EFI\BOOT\ where BOOTX64.EFI is missing
 * (planned only on a dry run), each copy listed in plan.  Nothing
 * mounted before or after. */
int vmc_inject_efi_fallback(guestfs_h *g, const struct vmc_esp *esp,
			    bool dry_run, struct vmc_plan *plan,
			    const char *image, struct vmc_error *err);

/* The guest needs no other injection (no OS found, or ready): the
 * fallback repair alone, then the ESP inspected again to check it.  Sets
 * r's status and message when it changed something. */
int vmc_inject_efi_only(guestfs_h *g, const char *image,
			const struct vmc_inject_opts *o,
			struct vmc_inject_result *r, struct vmc_error *err);

#endif
