/* --verbose: the guest console on a terminal (validate/echo.c). */
#ifndef VMC_VALIDATE_ECHO_H
#define VMC_VALIDATE_ECHO_H

#include <stddef.h>
#include <stdio.h>

/* Writes guest console bytes to a terminal with every control byte (and
 * anything not printable ASCII) shown as \xNN; carriage returns dropped. */
void vmc_echo(FILE *f, const char *buf, size_t len);

#endif
