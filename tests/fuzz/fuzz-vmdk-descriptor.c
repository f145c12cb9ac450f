/* libFuzzer target: the VMDK descriptor parser alone (formats/
 * vmdk-descriptor.c), then the writer on what was parsed.  Build with
 * `make fuzz`; run build/fuzz/fuzz-vmdk-descriptor CORPUS. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formats/vmdk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t uuid[16];
	struct vmdk_desc d;
	struct vmc_error err;
	struct vmdk_desc_out o = { 0 };
	char *text;

	if (vmdk_desc_parse(&d, (const char *)data, size, "fuzz.vmdk",
			    &err) < 0)
		return 0;
	vmdk_desc_get(&d, "ddb.adapterType");
	for (size_t i = 0; i < d.n_ext; i++)
		if (!d.ext[i].file)
			d.ext[i].file = strdup("zero");
	o.cid = d.cid;
	o.create_type = d.create_type;
	o.adapter = "lsilogic";
	o.hwversion = 11;
	o.ext = d.ext;
	o.n_ext = d.n_ext;
	o.uuid = uuid;
	text = vmdk_desc_format(&o);
	if (text) {
		struct vmdk_desc again;

		/* what we write must parse (names with quotes aside) */
		if (vmdk_desc_parse(&again, text, strlen(text), "again",
				    &err) == 0)
			vmdk_desc_free(&again);
		free(text);
	}
	vmdk_desc_free(&d);
	return 0;
}
