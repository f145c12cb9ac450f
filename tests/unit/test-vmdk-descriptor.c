/* Unit tests: the VMDK descriptor parser and writer
 * (formats/vmdk-descriptor.c) on descriptors as VMware products and
 * qemu-img write them, and on broken ones. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/vmdk.h"

static int parse(struct vmdk_desc *d, const char *text, struct vmc_error *e)
{
	return vmdk_desc_parse(d, text, strlen(text), "test.vmdk", e);
}

/* VMware Workstation 16, twoGbMaxExtentSparse (the ms3-win sample's
 * layout): no spaces in the header, spaces around '=' in the DDB. */
static const char workstation[] =
	"# Disk DescriptorFile\n"
	"version=1\n"
	"encoding=\"UTF-8\"\n"
	"CID=216bc064\n"
	"parentCID=ffffffff\n"
	"createType=\"twoGbMaxExtentSparse\"\n"
	"\n"
	"# Extent description\n"
	"RW 8323072 SPARSE \"disk-s001.vmdk\"\n"
	"RW 983040 SPARSE \"disk-s002.vmdk\"\n"
	"\n"
	"# The Disk Data Base \n"
	"#DDB\n"
	"\n"
	"ddb.adapterType = \"lsilogic\"\n"
	"ddb.geometry.cylinders = \"7832\"\n"
	"ddb.geometry.heads = \"255\"\n"
	"ddb.geometry.sectors = \"63\"\n"
	"ddb.longContentID = \"3ca4d6ec709912129cf7ecb7216bc064\"\n"
	"ddb.toolsInstallType = \"1\"\n"
	"ddb.toolsVersion = \"10240\"\n"
	"ddb.uuid = \"60 00 C2 92 7b f4 0d ee-e9 08 12 5d bc 4f ab 26\"\n"
	"ddb.virtualHWVersion = \"13\"\n";

Test(vmdk_descriptor, workstation_split)
{
	struct vmdk_desc d;
	struct vmc_error e;

	cr_assert_eq(parse(&d, workstation, &e), 0, "%s", e.msg);
	cr_assert_eq(d.version, 1);
	cr_assert(d.have_cid);
	cr_assert_eq(d.cid, 0x216bc064);
	cr_assert_eq(d.parent_cid, 0xffffffff);
	cr_assert_str_eq(d.create_type, "twoGbMaxExtentSparse");
	cr_assert_str_eq(d.encoding, "UTF-8");
	cr_assert_null(d.parent_hint);
	cr_assert_eq(d.n_ext, 2);
	cr_assert_eq(d.ext[0].access, VMDK_RW);
	cr_assert_eq(d.ext[0].sectors, 8323072);
	cr_assert_eq(d.ext[0].type, VMDK_EXT_SPARSE);
	cr_assert_str_eq(d.ext[0].file, "disk-s001.vmdk");
	cr_assert_eq(d.ext[1].sectors, 983040);
	cr_assert_str_eq(vmdk_desc_get(&d, "ddb.adapterType"), "lsilogic");
	cr_assert_str_eq(vmdk_desc_get(&d, "ddb.virtualHWVersion"), "13");
	cr_assert_str_eq(vmdk_desc_get(&d, "ddb.uuid"),
			 "60 00 C2 92 7b f4 0d ee-e9 08 12 5d bc 4f ab 26");
	cr_assert_str_eq(vmdk_desc_get(&d, "ddb.longContentID"),
			 "3ca4d6ec709912129cf7ecb7216bc064");
	cr_assert_str_eq(vmdk_desc_get(&d, "DDB.TOOLSVERSION"), "10240");
	vmdk_desc_free(&d);
}

/* qemu-img's template: no encoding, "virtualHWVersion 4", a snapshot. */
static const char qemu[] =
	"# Disk DescriptorFile\n"
	"version=1\n"
	"CID=5c5c71fa\n"
	"parentCID=5d2c793c\n"
	"createType=\"monolithicSparse\"\n"
	"parentFileNameHint=\"base.vmdk\"\n"
	"\n"
	"# Extent description\n"
	"RW 131072 SPARSE \"s.vmdk\"\n"
	"\n"
	"# The Disk Data Base\n"
	"#DDB\n"
	"\n"
	"ddb.virtualHWVersion = \"4\"\n"
	"ddb.geometry.cylinders = \"130\"\n"
	"ddb.geometry.heads = \"16\"\n"
	"ddb.geometry.sectors = \"63\"\n"
	"ddb.adapterType = \"ide\"\n"
	"ddb.toolsVersion = \"2147483647\"\n";

Test(vmdk_descriptor, qemu_snapshot)
{
	struct vmdk_desc d;
	struct vmc_error e;

	cr_assert_eq(parse(&d, qemu, &e), 0, "%s", e.msg);
	cr_assert_eq(d.cid, 0x5c5c71fa);
	cr_assert(d.have_parent_cid);
	cr_assert_eq(d.parent_cid, 0x5d2c793c);
	cr_assert_str_eq(d.parent_hint, "base.vmdk");
	cr_assert_null(d.encoding);
	cr_assert_str_eq(vmdk_desc_get(&d, "ddb.adapterType"), "ide");
	vmdk_desc_free(&d);
}

/* Windows line ends, tabs, trailing blanks, comments everywhere, spaces
 * around '=' in the header too, every access mode and extent type. */
static const char esx[] =
	"# Disk DescriptorFile\r\n"
	"  version = 1  \r\n"
	"encoding = \"windows-1252\"\r\n"
	"CID = FFFFFFFE\r\n"
	"parentCID = ffffffff\r\n"
	"isNativeSnapshot = \"no\"\r\n"
	"createType = \"vmfs\"\r\n"
	"# a comment between the header and the extents\r\n"
	"\r\n"
	"RW 41943040 VMFS \"big disk-flat.vmdk\"\r\n"
	"RDONLY 2048 FLAT \"part.img\" 4096\r\n"
	"NOACCESS 1024 SPARSE \"hidden.vmdk\"\r\n"
	"RW 512 ZERO\r\n"
	"RW\t100\tVMFSSPARSE\t\"redo-delta.vmdk\"\r\n"
	"RW 200 SESPARSE \"se-sesparse.vmdk\"\r\n"
	"RW 300 VMFSRDM \"rdm-rdmp.vmdk\"\r\n"
	"\r\n"
	"ddb.adapterType = \"pvscsi\"   \r\n"
	"ddb.thinProvisioned = \"1\"\r\n"
	"ddb.deletable = \"true\"\r\n";

Test(vmdk_descriptor, esx_every_extent_kind)
{
	struct vmdk_desc d;
	struct vmc_error e;

	cr_assert_eq(parse(&d, esx, &e), 0, "%s", e.msg);
	cr_assert_eq(d.cid, 0xfffffffe);
	cr_assert_str_eq(d.create_type, "vmfs");
	cr_assert_str_eq(d.encoding, "windows-1252");
	cr_assert_eq(d.n_ext, 7);
	cr_assert_eq(d.ext[0].type, VMDK_EXT_VMFS);
	cr_assert_str_eq(d.ext[0].file, "big disk-flat.vmdk");
	cr_assert_eq(d.ext[0].offset, 0);
	cr_assert_eq(d.ext[1].access, VMDK_RDONLY);
	cr_assert_eq(d.ext[1].type, VMDK_EXT_FLAT);
	cr_assert_eq(d.ext[1].offset, 4096);
	cr_assert_eq(d.ext[2].access, VMDK_NOACCESS);
	cr_assert_eq(d.ext[3].type, VMDK_EXT_ZERO);
	cr_assert_null(d.ext[3].file);
	cr_assert_eq(d.ext[3].sectors, 512);
	cr_assert_eq(d.ext[4].type, VMDK_EXT_VMFSSPARSE);
	cr_assert_str_eq(d.ext[4].file, "redo-delta.vmdk");
	cr_assert_eq(d.ext[5].type, VMDK_EXT_SESPARSE);
	cr_assert_eq(d.ext[6].type, VMDK_EXT_VMFSRDM);
	cr_assert_str_eq(vmdk_desc_get(&d, "ddb.adapterType"), "pvscsi");
	cr_assert_str_eq(vmdk_desc_get(&d, "isNativeSnapshot"), "no");
	vmdk_desc_free(&d);
}

/* libvmdk's VMware Player descriptor, with a windows-1252 file name:
 * 0xe9 is e-acute, 0x80 the euro sign; both come out as UTF-8. */
Test(vmdk_descriptor, windows_1252)
{
	const char text[] =
		"# Disk DescriptorFile\n"
		"version=1\n"
		"encoding=\"windows-1252\"\n"
		"CID=fffffffe\n"
		"parentCID=ffffffff\n"
		"isNativeSnapshot=\"no\"\n"
		"createType=\"monolithicSparse\"\n"
		"\n"
		"# Extent description\n"
		"RW 16777216 SPARSE \"caf\xe9 \x80.vmdk\"\n"
		"\n"
		"# The Disk Data Base \n"
		"#DDB\n"
		"\n"
		"ddb.virtualHWVersion = \"9\"\n"
		"ddb.longContentID = \"e61f2478a1f3c8bc7c3a8f36fffffffe\"\n"
		"ddb.uuid = \"60 00 C2 99 3c 3b c5 c0-29 99 4b e2 5b 11 a2"
		" 45\"\n"
		"ddb.geometry.cylinders = \"16383\"\n"
		"ddb.geometry.heads = \"16\"\n"
		"ddb.geometry.sectors = \"63\"\n"
		"ddb.adapterType = \"ide\"\n";
	struct vmdk_desc d;
	struct vmc_error e;

	cr_assert_eq(parse(&d, text, &e), 0, "%s", e.msg);
	cr_assert_str_eq(d.ext[0].file, "caf\xc3\xa9 \xe2\x82\xac.vmdk");
	cr_assert_eq(d.ext[0].sectors, 16777216);
	cr_assert_str_eq(vmdk_desc_get(&d, "ddb.virtualHWVersion"), "9");
	vmdk_desc_free(&d);
}

/* Japanese VMware products write Shift_JIS descriptors. */
Test(vmdk_descriptor, shift_jis)
{
	const char text[] =
		"# Disk DescriptorFile\n"
		"version=1\n"
		"encoding=\"Shift_JIS\"\n"
		"CID=fffffffe\n"
		"parentCID=ffffffff\n"
		"createType=\"monolithicFlat\"\n"
		"RW 2048 FLAT \"\x82\xa0-flat.vmdk\" 0\n";
	struct vmdk_desc d;
	struct vmc_error e;

	cr_assert_eq(parse(&d, text, &e), 0, "%s", e.msg);
	cr_assert_str_eq(d.ext[0].file, "\xe3\x81\x82-flat.vmdk");
	vmdk_desc_free(&d);
}

/* An embedded descriptor ends at the first NUL of its padded area. */
Test(vmdk_descriptor, embedded_padding)
{
	char area[10240];
	struct vmdk_desc d;
	struct vmc_error e;

	memset(area, 0, sizeof(area));
	memcpy(area, qemu, strlen(qemu));
	cr_assert_eq(vmdk_desc_parse(&d, area, sizeof(area), "x", &e), 0,
		     "%s", e.msg);
	cr_assert_eq(d.n_ext, 1);
	vmdk_desc_free(&d);
}

struct bad_case {
	const char *text;
	const char *msg;		/* a substring of the error */
};

static void expect_error(const char *text, size_t len, const char *msg)
{
	struct vmdk_desc d;
	struct vmc_error e;

	memset(&e, 0, sizeof(e));
	cr_assert_eq(vmdk_desc_parse(&d, text, len, "bad.vmdk", &e), -1,
		     "accepted: %.60s", text);
	cr_assert(strstr(e.msg, msg), "error '%s' lacks '%s'", e.msg, msg);
	cr_assert(strstr(e.msg, "bad.vmdk"), "error names no file: %s",
		  e.msg);
}

Test(vmdk_descriptor, broken)
{
	static const struct bad_case cases[] = {
		{ "createType=\"monolithicFlat\"\nRW 1 FLAT \"a\"\n",
		  "no 'version'" },
		{ "version=1\nRW 1 FLAT \"a\"\n", "no 'createType'" },
		{ "version=7\ncreateType=\"x\"\n", "version '7'" },
		{ "version=1\nCID=xyz\ncreateType=\"x\"\n", "CID 'xyz'" },
		{ "version=1\nCID=123456789\ncreateType=\"x\"\n", "CID" },
		{ "version=1\nparentCID=-1\ncreateType=\"x\"\n", "parentCID" },
		{ "version=1\ncreateType=\"x\nRW 1 FLAT \"a\"\n",
		  "line 2: value has no closing quote" },
		{ "version=1\ncreateType=\"x\"\nRW 1 FLAT \"a\n",
		  "line 3: extent file name has no closing quote" },
		{ "version=1\ncreateType=\"x\"\nRW 1 FLAT a.vmdk\n",
		  "not quoted" },
		{ "version=1\ncreateType=\"x\"\nRW 1 TURBO \"a\"\n",
		  "unknown extent type 'TURBO'" },
		{ "version=1\ncreateType=\"x\"\nRW many FLAT \"a\"\n",
		  "not a number of sectors" },
		{ "version=1\ncreateType=\"x\"\n"
		  "RW 99999999999999999999999 FLAT \"a\"\n", "sectors" },
		{ "version=1\ncreateType=\"x\"\nRW 1 FLAT \"a\" 12x\n",
		  "offset is not a number" },
		{ "version=1\ncreateType=\"x\"\nRW 1 FLAT \"a\" 0 junk\n",
		  "unexpected text" },
		{ "version=1\ncreateType=\"x\"\nRW 1 SPARSE\n",
		  "no file name" },
		{ "version=1\ncreateType=\"x\"\njust some words\n",
		  "line 3: neither" },
		{ "version=1\ncreateType=\"x\"\n = \"v\"\n", "empty key" },
		{ "version=1\ncreateType=\"x\"\nfoo bar = 1\n", "malformed" },
		{ "version=1\nencoding=\"klingon\"\ncreateType=\"x\"\n"
		  "RW 1 FLAT \"\x82\xa0\"\n", "'klingon' is not supported" },
		{ "version=1\nencoding=\"Shift_JIS\"\ncreateType=\"x\"\n"
		  "RW 1 FLAT \"\x82\"\n", "not valid Shift_JIS text" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_error(cases[i].text, strlen(cases[i].text),
			     cases[i].msg);
}

/* A line of absurd length (a fuzzer's favourite) and a descriptor larger
 * than any real one: refused before any work proportional to them. */
Test(vmdk_descriptor, absurd_sizes)
{
	size_t n = 100000;
	char *t = malloc(n + 64);

	cr_assert_not_null(t);
	strcpy(t, "version=1\ncreateType=\"");
	memset(t + strlen(t), 'x', n);
	strcpy(t + 22 + n, "\"\n");
	expect_error(t, strlen(t), "line 2 is 100013 bytes long");
	free(t);

	n = VMDK_DESC_MAX + 1;
	t = malloc(n);
	cr_assert_not_null(t);
	memset(t, '#', n);
	expect_error(t, n, "at most");
	free(t);
}

Test(vmdk_descriptor, too_many_extents)
{
	size_t n = VMDK_MAX_EXTENTS + 1, len = 0;
	char *t = malloc(64 + n * 16);

	cr_assert_not_null(t);
	len += (size_t)sprintf(t, "version=1\ncreateType=\"x\"\n");
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(t + len, "RW 1 FLAT \"a\"\n");
	expect_error(t, len, "too many extents");
	free(t);
}

/* What vmconv writes parses back to the same values, and looks like
 * VMware's layout (header, extents, "#DDB", quoted ddb values). */
Test(vmdk_descriptor, write_then_parse)
{
	static const uint8_t uuid[16] = { 0x60, 0x00, 0xc2, 0x9a, 1, 2, 3, 4,
					  5, 6, 7, 8, 9, 10, 11, 12 };
	struct vmdk_desc_extent x[2] = {
		{ VMDK_RW, 4192256, VMDK_EXT_FLAT, "d-f001.vmdk", 0 },
		{ VMDK_RW, 100, VMDK_EXT_FLAT, "d-f002.vmdk", 0 },
	};
	struct vmdk_desc_out o = {
		.cid = 0xdeadbeef, .create_type = "twoGbMaxExtentFlat",
		.adapter = "ide", .hwversion = 11, .sectors = 4192356,
		.ext = x, .n_ext = 2, .uuid = uuid,
	};
	char *text = vmdk_desc_format(&o);
	struct vmdk_desc d;
	struct vmc_error e;

	cr_assert_not_null(text);
	cr_assert(strstr(text, "# Disk DescriptorFile\nversion=1\n"));
	cr_assert(strstr(text, "\nRW 4192256 FLAT \"d-f001.vmdk\" 0\n"));
	cr_assert(strstr(text, "\n#DDB\n"));
	cr_assert(strstr(text, "ddb.virtualHWVersion = \"11\"\n"));
	cr_assert(strstr(text, "ddb.geometry.heads = \"16\"\n"));
	cr_assert(strstr(text, "ddb.geometry.cylinders = \"4159\"\n"));
	cr_assert(strstr(text, "ddb.uuid = \"60 00 c2 9a 01 02 03 04-05 06"
			 " 07 08 09 0a 0b 0c\"\n"));
	cr_assert(strstr(text, "ddb.longContentID = \"6000c29a0102030405060708"
			 "deadbeef\"\n"));
	cr_assert_eq(parse(&d, text, &e), 0, "%s", e.msg);
	cr_assert_eq(d.cid, 0xdeadbeef);
	cr_assert_str_eq(d.create_type, "twoGbMaxExtentFlat");
	cr_assert_eq(d.n_ext, 2);
	cr_assert_eq(d.ext[1].sectors, 100);
	cr_assert_str_eq(d.ext[1].file, "d-f002.vmdk");
	cr_assert_str_eq(vmdk_desc_get(&d, "ddb.adapterType"), "ide");
	vmdk_desc_free(&d);
	free(text);
}
