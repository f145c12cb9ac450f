/* Validation requests as JSON: see validate/request.h. */
#include <errno.h>
#include <string.h>

#include "validate/request.h"

json_t *vmc_request_new(const struct vmc_validate_opts *o,
			const char *image, const char *format)
{
	json_t *j = json_object();

	json_object_set_new(j, "image", json_string(image));
	json_object_set_new(j, "format", json_string(format));
	json_object_set_new(j, "engine", json_string("direct"));
	/* the appliance's KVM is run by software and fails the speed part
	 * of the self-test: the host already chose this engine */
	json_object_set_new(j, "selftest", json_false());
	json_object_set_new(j, "bus", json_string(o->bus == VMC_BUS_IDE ?
						  "ide" : "virtio"));
	json_object_set_new(j, "boot", json_string(
		o->boot == VMC_BOOT_KERNEL ? "kernel" : "firmware"));
	if (o->boot == VMC_BOOT_FIRMWARE)
		json_object_set_new(j, "firmware", json_string(
			vmc_firmware_name(o->firmware)));
	json_object_set_new(j, "timeout", json_integer(o->timeout_s));
	json_object_set_new(j, "memory", json_integer(o->mem_mib ?
						      o->mem_mib : 512));
	if (o->boot == VMC_BOOT_KERNEL) {
		json_object_set_new(j, "kernel", json_string("/run/kernel"));
		if (o->initrd)
			json_object_set_new(j, "initrd",
					    json_string("/run/initrd"));
		json_object_set_new(j, "append", json_string(
			o->append ? o->append : ""));
	}
	if (o->expect)
		json_object_set_new(j, "expect", json_string(o->expect));
	return j;
}

static int get_str(json_t *j, const char *key, const char **out,
		   const char *path, struct vmc_error *err)
{
	json_t *v = json_object_get(j, key);

	if (!v)
		return 0;
	if (!json_is_string(v))
		return vmc_error_set(err, EINVAL, "%s: \"%s\" is not a string",
				     path, key);
	*out = json_string_value(v);
	return 0;
}

static int get_uint(json_t *j, const char *key, unsigned max,
		    unsigned *out, const char *path, struct vmc_error *err)
{
	json_t *v = json_object_get(j, key);

	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    json_integer_value(v) > max)
		return vmc_error_set(err, EINVAL, "%s: \"%s\" is not a number"
				     " from 1 to %u", path, key, max);
	*out = (unsigned)json_integer_value(v);
	return 0;
}

/* "engine", "bus", "boot" and "firmware": one of the names each takes. */
static int get_choices(json_t *j, struct vmc_validate_opts *o,
		       const char *path, struct vmc_error *err)
{
	const char *engine = NULL, *bus = NULL, *boot = NULL, *fw = NULL;

	if (get_str(j, "firmware", &fw, path, err) < 0)
		return -1;
	if (fw && vmc_firmware_parse(fw, &o->firmware) < 0)
		return vmc_error_set(err, EINVAL, "%s: firmware must be auto,"
				     " bios or uefi, not '%s'", path, fw);
	if (get_str(j, "engine", &engine, path, err) < 0 ||
	    get_str(j, "bus", &bus, path, err) < 0 ||
	    get_str(j, "boot", &boot, path, err) < 0)
		return -1;
	if (engine && vmc_engine_parse(engine, &o->engine) < 0)
		return vmc_error_set(err, EINVAL, "%s: unknown engine '%s'",
				     path, engine);
	if (bus && strcmp(bus, "ide") && strcmp(bus, "virtio"))
		return vmc_error_set(err, EINVAL, "%s: bus must be virtio or"
				     " ide, not '%s'", path, bus);
	if (bus)
		o->bus = !strcmp(bus, "ide") ? VMC_BUS_IDE : VMC_BUS_VIRTIO;
	if (boot && strcmp(boot, "kernel") && strcmp(boot, "firmware"))
		return vmc_error_set(err, EINVAL, "%s: boot must be firmware"
				     " or kernel, not '%s'", path, boot);
	if (boot)
		o->boot = !strcmp(boot, "kernel") ? VMC_BOOT_KERNEL :
						    VMC_BOOT_FIRMWARE;
	return 0;
}

int vmc_request_load(const char *path, struct vmc_validate_opts *o,
		     json_t **holder, struct vmc_error *err)
{
	json_error_t je;
	json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &je), *v;

	*holder = NULL;
	if (!j)
		return vmc_error_set(err, EINVAL, "%s: not a JSON request"
				     " (line %d: %s)", path, je.line, je.text);
	if (!json_is_object(j)) {
		json_decref(j);
		return vmc_error_set(err, EINVAL, "%s: not a JSON object",
				     path);
	}
	*holder = j;
	v = json_object_get(j, "selftest");
	if (v && !json_is_boolean(v))
		return vmc_error_set(err, EINVAL, "%s: \"selftest\" is not"
				     " true or false", path);
	if (v)
		o->no_selftest = json_is_false(v);
	if (get_str(j, "image", &o->image, path, err) < 0 ||
	    get_str(j, "format", &o->format, path, err) < 0 ||
	    get_str(j, "kernel", &o->kernel, path, err) < 0 ||
	    get_str(j, "initrd", &o->initrd, path, err) < 0 ||
	    get_str(j, "append", &o->append, path, err) < 0 ||
	    get_str(j, "expect", &o->expect, path, err) < 0 ||
	    get_uint(j, "timeout", 86400, &o->timeout_s, path, err) < 0 ||
	    get_uint(j, "memory", 65536, &o->mem_mib, path, err) < 0)
		return -1;
	return get_choices(j, o, path, err);
}
