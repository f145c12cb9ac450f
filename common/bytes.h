/* Internal code's name for the public byte-order and checked-arithmetic
 * helpers, kept so that code written before they became public builds. */
#include <vmconv/bytes.h>
