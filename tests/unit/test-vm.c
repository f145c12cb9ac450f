/* Unit tests: the whole-VM layer (vm/).  OVF descriptors written here
 * from DSP0243 and VMware's layout, parsed from memory; hostile ones
 * (bad names, duplicates, sizes, XML entities) refused with messages that
 * name the structure; units, MACs, manifests; the libvirt and OVF
 * writers read back by the readers. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/unit/scratch.h"
#include "vm/manifest.h"
#include "vm/ovf.h"
#include "vm/vm.h"

#define HEAD "<?xml version=\"1.0\"?>\n<Envelope " \
	"xmlns=\"http://schemas.dmtf.org/ovf/envelope/1\" " \
	"xmlns:ovf=\"http://schemas.dmtf.org/ovf/envelope/1\" " \
	"xmlns:rasd=\"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/" \
	"CIM_ResourceAllocationSettingData\" " \
	"xmlns:vmw=\"http://www.vmware.com/schema/ovf\">"
#define CPU(n) "<Item><rasd:InstanceID>1</rasd:InstanceID>" \
	"<rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>" n \
	"</rasd:VirtualQuantity></Item>"
#define MEM(n, u) "<Item><rasd:AllocationUnits>" u "</rasd:AllocationUnits>" \
	"<rasd:InstanceID>2</rasd:InstanceID><rasd:ResourceType>4" \
	"</rasd:ResourceType><rasd:VirtualQuantity>" n \
	"</rasd:VirtualQuantity></Item>"
#define VS(hw) "<VirtualSystem ovf:id=\"vm1\"><Info>x</Info>" \
	"<VirtualHardwareSection><Info>x</Info>" hw \
	"</VirtualHardwareSection></VirtualSystem>"

static struct vmc_vm *parse(const char *doc, struct vmc_error *err)
{
	return vmc_ovf_parse(doc, strlen(doc), "t.ovf", "/nonexistent", NULL, NULL,
			     err);
}

static void refused(const char *doc, const char *msg)
{
	struct vmc_error err = { 0 };
	struct vmc_vm *vm = parse(doc, &err);

	cr_assert_null(vm, "accepted: %s", doc);
	cr_assert(strstr(err.msg, msg), "error '%s' lacks '%s'", err.msg, msg);
	cr_assert(!strncmp(err.msg, "t.ovf: ", 7), "no file name: %s",
		  err.msg);
}

Test(ovf, minimal_shape)
{
	struct vmc_error err = { 0 };
	struct vmc_vm *vm = parse(HEAD VS(CPU("3") MEM("2", "byte * 2^30")
		"<vmw:Config ovf:required=\"false\" vmw:key=\"firmware\""
		" vmw:value=\"efi\"/>") "</Envelope>", &err);

	cr_assert_not_null(vm, "%s", err.msg);
	cr_assert_str_eq(vm->name, "vm1");
	cr_assert_eq(vm->vcpus, 3);
	cr_assert_eq(vm->memory, 2ull << 30);
	cr_assert_eq(vm->firmware, VMC_FW_EFI);
	vmc_vm_free(vm);
}

Test(ovf, memory_defaults_to_mib)
{
	struct vmc_error err = { 0 };
	struct vmc_vm *vm = parse(HEAD VS(MEM("512", "")) "</Envelope>", &err);

	cr_assert_not_null(vm, "%s", err.msg);
	cr_assert_eq(vm->memory, 512ull << 20);
	vmc_vm_free(vm);
}

Test(ovf, not_xml)
{
	refused("this is not XML", "not an XML document (line 1");
	refused(HEAD "<References>", "not an XML document");
	refused("<?xml version=\"1.0\"?><domain/>", "not an OVF <Envelope>");
}

Test(ovf, structure)
{
	refused(HEAD "</Envelope>", "no VirtualSystem");
	refused(HEAD VS("") VS("") "</Envelope>", "more than one");
	refused(HEAD "<VirtualSystemCollection/>" VS("") "</Envelope>",
		"VirtualSystemCollection");
	refused(HEAD "<VirtualSystem><Info>x</Info></VirtualSystem>"
		"</Envelope>", "no Name and no ovf:id");
	refused(HEAD "<VirtualSystem ovf:id=\"a\"/></Envelope>",
		"no VirtualHardwareSection");
}

Test(ovf, hostile_names)
{
	static const char *const bad[][2] = {
		{ "../x.vmdk", "leaves the package folder" },
		{ "a/../../x.vmdk", "leaves the package folder" },
		{ "..", "leaves the package folder" },
		{ "/etc/passwd", "is not a file of the package" },
		{ "http://example.com/x.vmdk", "is not a file of the package" },
		{ "sub/x.vmdk", "only plain file names" },
		{ ".hidden", "only plain file names" },
		{ "", "empty name" },
	};
	char doc[1024];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(doc, sizeof(doc), HEAD "<References><File ovf:id=\"f\""
			 " ovf:href=\"%s\"/></References>" VS("") "</Envelope>",
			 bad[i][0]);
		refused(doc, bad[i][1]);
	}
}

Test(ovf, duplicates)
{
	refused(HEAD "<References><File ovf:id=\"f\" ovf:href=\"a\"/>"
		"<File ovf:id=\"f\" ovf:href=\"b\"/></References>" VS("")
		"</Envelope>", "References lists file 'b' (id f) twice");
	refused(HEAD "<References><File ovf:id=\"f\" ovf:href=\"a\"/>"
		"<File ovf:id=\"g\" ovf:href=\"a\"/></References>" VS("")
		"</Envelope>", "twice");
	refused(HEAD "<DiskSection><Disk ovf:diskId=\"d\" ovf:capacity=\"1\"/>"
		"<Disk ovf:diskId=\"d\" ovf:capacity=\"1\"/></DiskSection>"
		VS("") "</Envelope>", "DiskSection lists disk 'd' twice");
}

Test(ovf, sizes)
{
	refused(HEAD "<DiskSection><Disk ovf:diskId=\"d\" ovf:capacity=\"0\"/>"
		"</DiskSection>" VS("") "</Envelope>", "bad capacity");
	refused(HEAD "<DiskSection><Disk ovf:diskId=\"d\" ovf:capacity=\"9\""
		" ovf:capacityAllocationUnits=\"byte * 2^62\"/></DiskSection>"
		VS("") "</Envelope>", "bad capacity");
	refused(HEAD "<DiskSection><Disk ovf:diskId=\"d\" ovf:capacity=\"-1\"/>"
		"</DiskSection>" VS("") "</Envelope>", "bad capacity");
	refused(HEAD VS(CPU("5000")) "</Envelope>", "5000 virtual CPUs");
	refused(HEAD VS(CPU("0")) "</Envelope>", "bad VirtualQuantity");
	refused(HEAD VS(MEM("99999999999", "byte * 2^40")) "</Envelope>",
		"bad VirtualQuantity");
	refused(HEAD "<DiskSection><Disk ovf:diskId=\"d\" ovf:capacity=\"1\""
		" ovf:fileRef=\"nope\"/></DiskSection>" VS("") "</Envelope>",
		"names file id 'nope'");
}

Test(ovf, items)
{
	refused(HEAD VS("<Item><rasd:InstanceID>9</rasd:InstanceID></Item>")
		"</Envelope>", "InstanceID 9) has no valid ResourceType");
	refused(HEAD VS("<Item><rasd:InstanceID>9</rasd:InstanceID>"
		"<rasd:HostResource>ovf:/disk/zz</rasd:HostResource>"
		"<rasd:ResourceType>17</rasd:ResourceType></Item>")
		"</Envelope>", "names disk 'zz'");
	refused(HEAD VS("<Item><rasd:Address>nope</rasd:Address>"
		"<rasd:InstanceID>9</rasd:InstanceID>"
		"<rasd:ResourceType>10</rasd:ResourceType></Item>")
		"</Envelope>", "'nope' is not a MAC");
}

Test(ovf, external_entity_not_loaded)
{
	struct vmc_error err = { 0 };
	const char *doc = "<?xml version=\"1.0\"?>\n<!DOCTYPE Envelope ["
		"<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n"
		"<Envelope xmlns=\"http://schemas.dmtf.org/ovf/envelope/1\" "
		"xmlns:ovf=\"http://schemas.dmtf.org/ovf/envelope/1\">"
		"<VirtualSystem ovf:id=\"v\"><Name>a&x;b</Name>"
		"<VirtualHardwareSection/></VirtualSystem></Envelope>";
	struct vmc_vm *vm = parse(doc, &err);

	if (vm) {
		cr_assert_null(strstr(vm->name, "root:"), "%s", vm->name);
		vmc_vm_free(vm);
	}
}

Test(ovf, entity_expansion_bounded)
{
	char doc[8192] = "<?xml version=\"1.0\"?>\n<!DOCTYPE Envelope [\n"
		"<!ENTITY a0 \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\">\n";
	struct vmc_error err = { 0 };
	struct vmc_vm *vm;
	time_t t0 = time(NULL);

	for (int i = 1; i < 12; i++)
		sprintf(doc + strlen(doc), "<!ENTITY a%d \"&a%d;&a%d;&a%d;"
			"&a%d;&a%d;&a%d;&a%d;&a%d;&a%d;&a%d;\">\n", i, i - 1,
			i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1,
			i - 1);
	strcat(doc, "]>\n<Envelope xmlns=\"http://schemas.dmtf.org/ovf/"
	       "envelope/1\"><VirtualSystem><Name>&a11;</Name>"
	       "<VirtualHardwareSection/></VirtualSystem></Envelope>");
	vm = parse(doc, &err);
	cr_assert_null(vm, "10^11 expansion accepted");
	cr_assert_lt(time(NULL) - t0, 10);
}

Test(ovf, units)
{
	uint64_t m;

	cr_assert_eq(vmc_ovf_units("byte * 2^30", &m), 0);
	cr_assert_eq(m, 1ull << 30);
	cr_assert_eq(vmc_ovf_units("byte*10^3", &m), 0);
	cr_assert_eq(m, 1000);
	cr_assert_eq(vmc_ovf_units("MegaBytes", &m), 0);
	cr_assert_eq(m, 1ull << 20);
	cr_assert_eq(vmc_ovf_units(NULL, &m), 0);
	cr_assert_eq(m, 1);
	cr_assert_eq(vmc_ovf_units("furlongs", &m), -1);
	cr_assert_eq(vmc_ovf_units("byte * 2^70", &m), -1);
	cr_assert_eq(vmc_ovf_units("byte * 3^2", &m), -1);
	cr_assert_eq(vmc_ovf_units("byte * 2^30 junk", &m), -1);
}

Test(vm, mac)
{
	char m[18];

	cr_assert_eq(vmc_mac_normalize("00:50:56:AA:bb:01", m), 0);
	cr_assert_str_eq(m, "00:50:56:aa:bb:01");
	cr_assert_eq(vmc_mac_normalize("00155D0A0B0C", m), 0);
	cr_assert_str_eq(m, "00:15:5d:0a:0b:0c");
	cr_assert_eq(vmc_mac_normalize("00-15-5D-0A-0B-0C", m), 0);
	cr_assert_eq(vmc_mac_normalize("00:15:5D:0A:0B", m), -1);
	cr_assert_eq(vmc_mac_normalize("00:15:5D:0A:0B:0C:0D", m), -1);
	cr_assert_eq(vmc_mac_normalize("zz:15:5D:0A:0B:0C", m), -1);
	cr_assert_eq(vmc_mac_normalize("", m), -1);
}

static int fake_digest(void *ctx, const char *name, struct vmc_digests *d,
		       struct vmc_error *err)
{
	if (strcmp(name, "a.vmdk"))
		return vmc_error_set(err, 2, "not in the archive");
	strcpy(d->sha1, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
	strcpy(d->sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934c"
	       "a495991b7852b855");
	return 0;
}

Test(manifest, check)
{
	struct vmc_error err = { 0 };
	size_t n;
	const char *good = "SHA1(a.vmdk)= da39a3ee5e6b4b0d3255bfef95601890"
		"afd80709\r\nSHA256 (a.vmdk) = E3B0C44298FC1C149AFBF4C8996FB924"
		"27AE41E4649B934CA495991B7852B855\n";

	cr_assert_eq(vmc_manifest_check(good, strlen(good), "x.mf",
					fake_digest, NULL, &n, &err), 0,
		     "%s", err.msg);
	cr_assert_eq(n, 2);
	cr_assert_eq(vmc_manifest_check("SHA256(a.vmdk)= 00\n", 19, "x.mf",
					fake_digest, NULL, &n, &err), -1);
	cr_assert(strstr(err.msg, "x.mf: SHA256 of 'a.vmdk' does not match:"
			 " the manifest says 00, the file has e3b0"), "%s",
		  err.msg);
	cr_assert_eq(vmc_manifest_check("SHA256(b.vmdk)= 00\n", 19, "x.mf",
					fake_digest, NULL, &n, &err), -1);
	cr_assert(strstr(err.msg, "line 1 names 'b.vmdk'"), "%s", err.msg);
	cr_assert_eq(vmc_manifest_check("MD5(a.vmdk)= 00\n", 16, "x.mf",
					fake_digest, NULL, &n, &err), -1);
	cr_assert(strstr(err.msg, "not SHA1 or SHA256"), "%s", err.msg);
	cr_assert_eq(vmc_manifest_check("garbage\n", 8, "x.mf", fake_digest,
					NULL, &n, &err), -1);
	cr_assert(strstr(err.msg, "line 1 is not"), "%s", err.msg);
}

TestSuite(writers, .init = scratch_setup, .fini = scratch_teardown);

static struct vmc_vm *sample(void)
{
	struct vmc_vm *vm = vmc_vm_new("test");
	struct vmc_vm_nic *n;

	vm->name = strdup("w<&>\"1");
	vm->vcpus = 4;
	vm->memory = 3ull << 30;
	vm->firmware = VMC_FW_EFI;
	n = vmc_vm_add_nic(vm);
	n->mac = strdup("52:54:00:12:34:56");
	return vm;
}

Test(writers, libvirt_round_trip)
{
	struct vmc_error err = { 0 };
	struct vmc_vm *vm = sample(), *back;
	char p[128];

	snprintf(p, sizeof(p), "%s/d.xml", scratch_dir);
	cr_assert_eq(vmc_libvirt_write(vm, p, VMC_DISK_VIRTIO, NULL, &err), 0,
		     "%s", err.msg);
	back = vmc_libvirt_read(p, &err);
	cr_assert_not_null(back, "%s", err.msg);
	cr_assert_str_eq(back->name, vm->name);
	cr_assert_eq(back->vcpus, 4);
	cr_assert_eq(back->memory, 3ull << 30);
	cr_assert_eq(back->firmware, VMC_FW_EFI);
	cr_assert_eq(back->n_nics, 1);
	cr_assert_str_eq(back->nics[0].mac, "52:54:00:12:34:56");
	vmc_vm_free(back);
	vmc_vm_free(vm);
}

Test(writers, ovf_round_trip)
{
	struct vmc_error err = { 0 };
	struct vmc_vm *vm = sample(), *back;
	char *doc = vmc_ovf_write(vm, &err);

	cr_assert_not_null(doc, "%s", err.msg);
	back = vmc_ovf_parse(doc, strlen(doc), "w.ovf", scratch_dir, NULL, NULL,
			     &err);
	cr_assert_not_null(back, "%s", err.msg);
	cr_assert_str_eq(back->name, vm->name);
	cr_assert_eq(back->vcpus, 4);
	cr_assert_eq(back->memory, 3ull << 30);
	cr_assert_eq(back->firmware, VMC_FW_EFI);
	cr_assert_str_eq(back->nics[0].mac, "52:54:00:12:34:56");
	free(doc);
	vmc_vm_free(back);
	vmc_vm_free(vm);
}
