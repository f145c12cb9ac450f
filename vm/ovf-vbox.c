/* VirtualBox's own section of the OVF it exports: <vbox:Machine> (the
 * machine's settings file format, in the VirtualSystem) holds what the
 * DSP0243 items do not: the firmware (<Firmware type="EFI"/>) and the
 * NICs' MAC addresses (<Network><Adapter slot= enabled= MACAddress=>),
 * matched to the Ethernet Items in slot order.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vm/ovf.h"

static int adapter_mac(struct vmc_ovf_ctx *c, xmlNodePtr a, size_t *k)
{
	char *en = vmc_xml_attr(a, "enabled");
	char *mac = vmc_xml_attr(a, "MACAddress");
	char m[18];
	int r = 0;

	if (!en || strcmp(en, "true") || !mac)
		goto out;
	if (vmc_mac_normalize(mac, m) < 0) {
		r = vmc_error_set(c->err, EINVAL, "%s: vbox:Machine Adapter"
				  " MACAddress '%s' is not a MAC", c->name,
				  mac);
		goto out;
	}
	if (*k < c->vm->n_nics && !c->vm->nics[*k].mac)
		c->vm->nics[*k].mac = strdup(m);
	(*k)++;
out:
	free(en);
	free(mac);
	return r;
}

int vmc_ovf_vbox(struct vmc_ovf_ctx *c, xmlNodePtr vs)
{
	xmlNodePtr hw = vmc_xml_child(vmc_xml_child(vs, "Machine"),
				      "Hardware");
	xmlNodePtr fw = vmc_xml_child(hw, "Firmware");
	char *t = vmc_xml_attr(fw, "type");
	size_t k = 0;

	if (t && !strcasecmp(t, "EFI"))
		c->vm->firmware = VMC_FW_EFI;
	free(t);
	for (xmlNodePtr a = vmc_xml_child(vmc_xml_child(hw, "Network"),
					  "Adapter"); a;
	     a = vmc_xml_next(a, "Adapter"))
		if (adapter_mac(c, a, &k) < 0)
			return -1;
	return 0;
}
