/* The nested engine (being written). */
#include <errno.h>
#include "validate/validate.h"
int vmc_engine_nested_run(struct vmc_engine_run *r, json_t **inner,
			  struct vmc_error *err)
{
	return vmc_error_set(err, ENOSYS, "the nested engine is not part of this build yet");
}
