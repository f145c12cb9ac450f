/* libFuzzer target: the -o option parser (common/opts.c), as `vmconv
 * convert -o` and `create -o` feed it: arbitrary text parsed, then every
 * typed getter asked of the keys a driver asks for, and the unused-option
 * check.  Build with `make fuzz`. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <vmconv/opts.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys[] = {
		"cluster_size", "compat", "subformat", "backing_file",
		"backing_fmt", "preallocation", "lazy_refcounts",
		"compression_type", "refcount_bits", "block_size", "",
	};
	struct vmc_opts *o;
	struct vmc_error err;
	char *s = malloc(size + 1);
	uint64_t v;
	bool b;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	o = vmc_opts_new();
	if (o && vmc_opts_parse(o, s, &err) == 0) {
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			(void)vmc_opts_get(o, keys[i]);
			(void)vmc_opts_get_bool(o, keys[i], false, &b, &err);
			(void)vmc_opts_get_size(o, keys[i], 0, &v, &err);
			(void)vmc_opts_get_uint(o, keys[i], 0, &v, &err);
		}
		(void)vmc_opts_check_used(o, "fuzz", &err);
		(void)vmc_parse_size(s, &v);
	}
	vmc_opts_free(o);
	free(s);
	return 0;
}
