/* Unit tests: option lists and size parsing (common/opts.c). */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>

#include <vmconv/opts.h>

Test(opts, parse_and_get)
{
	struct vmc_opts *o = vmc_opts_new();
	struct vmc_error err;
	uint64_t n;
	bool b;

	cr_assert_eq(vmc_opts_parse(o, "compat=1.1,cluster_size=64k,"
				       "lazy_refcounts=on", &err), 0);
	cr_assert_str_eq(vmc_opts_get(o, "compat"), "1.1");
	cr_assert_eq(vmc_opts_get_size(o, "cluster_size", 0, &n, &err), 0);
	cr_assert_eq(n, 65536);
	cr_assert_eq(vmc_opts_get_bool(o, "lazy_refcounts", false, &b, &err), 0);
	cr_assert(b);
	cr_assert_eq(vmc_opts_check_used(o, "qcow2", &err), 0);
	vmc_opts_free(o);
}

Test(opts, escaped_comma_and_override)
{
	struct vmc_opts *o = vmc_opts_new();
	struct vmc_error err;

	cr_assert_eq(vmc_opts_parse(o, "backing_file=a,,b.img,x=1,x=2", &err), 0);
	cr_assert_str_eq(vmc_opts_get(o, "backing_file"), "a,b.img");
	cr_assert_str_eq(vmc_opts_get(o, "x"), "2");
	vmc_opts_free(o);
}

Test(opts, unknown_key_is_named)
{
	struct vmc_opts *o = vmc_opts_new();
	struct vmc_error err;

	cr_assert_eq(vmc_opts_parse(o, "compat=1.1,bogus=3", &err), 0);
	vmc_opts_get(o, "compat");
	cr_assert_eq(vmc_opts_check_used(o, "qcow2", &err), -1);
	cr_assert_str_eq(err.msg, "qcow2: unknown option 'bogus'");
	vmc_opts_free(o);
}

Test(opts, malformed)
{
	struct vmc_opts *o = vmc_opts_new();
	struct vmc_error err;
	uint64_t n;
	bool b;

	cr_assert_eq(vmc_opts_parse(o, "novalue", &err), -1);
	cr_assert(strstr(err.msg, "novalue"));
	cr_assert_eq(vmc_opts_parse(o, "size=12Q,flag=maybe", &err), 0);
	cr_assert_eq(vmc_opts_get_size(o, "size", 0, &n, &err), -1);
	cr_assert(strstr(err.msg, "size"));
	cr_assert_eq(vmc_opts_get_bool(o, "flag", false, &b, &err), -1);
	vmc_opts_free(o);
}

/* Criterion runs each parameter in a new process: no pointers inside. */
struct size_case { char s[24]; uint64_t v; int ok; };

ParameterizedTestParameters(opts, sizes)
{
	static struct size_case c[] = {
		{ "0", 0, 0 }, { "512", 512, 0 }, { "64k", 65536, 0 },
		{ "64K", 65536, 0 }, { "2M", 2 << 20, 0 },
		{ "10G", 10ULL << 30, 0 }, { "1T", 1ULL << 40, 0 },
		{ "4GiB", 4ULL << 30, 0 }, { "100b", 100, 0 },
		{ "", 0, -1 }, { "-1", 0, -1 }, { "1X", 0, -1 },
		{ "99999999999999999999", 0, -1 }, { "16777216T", 0, -1 },
	};
	return cr_make_param_array(struct size_case, c,
				   sizeof(c) / sizeof(c[0]));
}

ParameterizedTest(struct size_case *c, opts, sizes)
{
	uint64_t v = 7;

	cr_assert_eq(vmc_parse_size(c->s, &v), c->ok, "%s", c->s);
	if (c->ok == 0)
		cr_assert_eq(v, c->v, "%s", c->s);
}
