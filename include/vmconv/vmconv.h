/* vmconv: convert virtual-machine disk images and prove they boot.
 * The one header to include. */
#ifndef VMCONV_H
#define VMCONV_H

#define VMCONV_VERSION "0.1.0"

#include <vmconv/error.h>
#include <vmconv/opts.h>
#include <vmconv/image.h>
#include <vmconv/output.h>
#include <vmconv/check.h>
#include <vmconv/convert.h>
#include <vmconv/plugin.h>

#endif
