/* QEMU's firmware configuration device, traditional I/O interface
 * (qemu docs/specs/fw_cfg.rst): a 16-bit selector at 0x510 and a byte
 * data port at 0x511 that reads the selected item sequentially.  Only
 * what SeaBIOS needs to run as it does under QEMU: the "QEMU" signature,
 * the interface id (no DMA), RAM size, CPU counts, nographic, and the
 * files etc/e820, bootorder-related settings and etc/sercon-port (SeaBIOS
 * then prints its own and the boot loader's screen output on the serial
 * port, so a guest whose console is only on the screen is still seen).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "validate/vmm/vmm.h"

void vmc_fwcfg_init(struct vmc_fwcfg *f)
{
	memset(f, 0, sizeof(*f));
}

void vmc_fwcfg_free(struct vmc_fwcfg *f)
{
	for (unsigned i = 0; i < f->n; i++)
		free(f->items[i].data);
	memset(f, 0, sizeof(*f));
}

static struct vmc_fwcfg_item *fwcfg_find(struct vmc_fwcfg *f, uint16_t key)
{
	for (unsigned i = 0; i < f->n; i++)
		if (f->items[i].key == key)
			return &f->items[i];
	return NULL;
}

static int fwcfg_set(struct vmc_fwcfg *f, uint16_t key, const void *data,
		     uint32_t len, const char *name)
{
	struct vmc_fwcfg_item *it = fwcfg_find(f, key);
	uint8_t *copy = malloc(len ? len : 1);

	if (!copy)
		return -1;
	if (len)
		memcpy(copy, data, len);
	if (!it) {
		if (f->n == VMC_FWCFG_MAX_ITEMS) {
			free(copy);
			return -1;
		}
		it = &f->items[f->n++];
		memset(it, 0, sizeof(*it));
		it->key = key;
	}
	free(it->data);
	it->data = copy;
	it->len = len;
	if (name)
		snprintf(it->name, sizeof(it->name), "%s", name);
	return 0;
}

int vmc_fwcfg_add(struct vmc_fwcfg *f, uint16_t key, const void *data,
		  uint32_t len)
{
	return fwcfg_set(f, key, data, len, NULL);
}

/* The directory: be32 count, then per file be32 size, be16 select,
 * be16 reserved, name[56]. */
static int fwcfg_rebuild_dir(struct vmc_fwcfg *f)
{
	uint8_t dir[4 + VMC_FWCFG_MAX_ITEMS * 64];
	uint32_t n = 0;

	memset(dir, 0, sizeof(dir));
	for (unsigned i = 0; i < f->n; i++) {
		const struct vmc_fwcfg_item *it = &f->items[i];
		uint8_t *e = dir + 4 + n * 64;

		if (it->key < VMC_FWCFG_FILE_FIRST || !it->name[0])
			continue;
		vmc_put_be32(e, it->len);
		vmc_put_be16(e + 4, it->key);
		memcpy(e + 8, it->name, VMC_FWCFG_NAME_MAX);
		n++;
	}
	vmc_put_be32(dir, n);
	return fwcfg_set(f, VMC_FWCFG_FILE_DIR, dir, 4 + n * 64, NULL);
}

int vmc_fwcfg_add_file(struct vmc_fwcfg *f, const char *name,
		       const void *data, uint32_t len)
{
	uint16_t key = VMC_FWCFG_FILE_FIRST + f->nfiles;

	if (strlen(name) >= VMC_FWCFG_NAME_MAX)
		return -1;
	for (unsigned i = 0; i < f->n; i++)
		if (f->items[i].key >= VMC_FWCFG_FILE_FIRST &&
		    !strcmp(f->items[i].name, name))
			key = f->items[i].key;
	if (key == VMC_FWCFG_FILE_FIRST + f->nfiles)
		f->nfiles++;
	if (fwcfg_set(f, key, data, len, name) < 0)
		return -1;
	return fwcfg_rebuild_dir(f);
}

/* etc/e820 entries: le64 address, le64 length, le32 type, packed. */
static void e820_entry(uint8_t *e, uint64_t addr, uint64_t len, uint32_t type)
{
	vmc_put_le64(e, addr);
	vmc_put_le64(e + 8, len);
	vmc_put_le32(e + 16, type);
}

int vmc_fwcfg_setup(struct vmc_fwcfg *f, uint64_t mem, unsigned ncpus)
{
	uint8_t b8[8], e820[20];
	uint8_t uuid[16] = { 0 };
	int r = 0;

	r |= vmc_fwcfg_add(f, VMC_FWCFG_SIGNATURE, "QEMU", 4);
	vmc_put_le32(b8, 1);		/* traditional interface, no DMA */
	r |= vmc_fwcfg_add(f, VMC_FWCFG_ID, b8, 4);
	r |= vmc_fwcfg_add(f, VMC_FWCFG_UUID, uuid, 16);
	vmc_put_le64(b8, mem);
	r |= vmc_fwcfg_add(f, VMC_FWCFG_RAM_SIZE, b8, 8);
	vmc_put_le16(b8, 1);
	r |= vmc_fwcfg_add(f, VMC_FWCFG_NOGRAPHIC, b8, 2);
	vmc_put_le16(b8, (uint16_t)ncpus);
	r |= vmc_fwcfg_add(f, VMC_FWCFG_NB_CPUS, b8, 2);
	r |= vmc_fwcfg_add(f, VMC_FWCFG_MAX_CPUS, b8, 2);
	vmc_put_le16(b8, 0);
	r |= vmc_fwcfg_add(f, VMC_FWCFG_BOOT_MENU, b8, 2);
	/* SeaBIOS adds the low-memory and BIOS holes itself. */
	e820_entry(e820, 0, mem, 1);
	r |= vmc_fwcfg_add_file(f, "etc/e820", e820, sizeof(e820));
	vmc_put_le16(b8, VMC_SERIAL_BASE);
	r |= vmc_fwcfg_add_file(f, "etc/sercon-port", b8, 2);
	vmc_put_le16(b8, 0);
	r |= vmc_fwcfg_add_file(f, "etc/show-boot-menu", b8, 2);
	/* Retry booting after 1 s instead of 60 s when nothing boots. */
	vmc_put_le32(b8, 1000);
	r |= vmc_fwcfg_add_file(f, "etc/boot-fail-wait", b8, 4);
	return r ? -1 : 0;
}

void vmc_fwcfg_io(struct vmc_fwcfg *f, uint16_t port, bool write,
		  uint8_t *data, unsigned size)
{
	if (port == VMC_FWCFG_PORT_SEL) {
		if (write) {
			f->sel = size >= 2 ? vmc_get_le16(data) : data[0];
			f->off = 0;
		} else {
			memset(data, 0, size);
		}
		return;
	}
	if (port != VMC_FWCFG_PORT_DATA || write) {
		/* Data writes are ignored, as in QEMU since 2.4. */
		if (!write)
			memset(data, 0xff, size);
		return;
	}
	struct vmc_fwcfg_item *it = fwcfg_find(f, f->sel);

	for (unsigned i = 0; i < size; i++) {
		if (it && f->off < it->len)
			data[i] = it->data[f->off++];
		else
			data[i] = 0;
	}
}
