/* The VGA text screen (80x25 cells at 0xB8000) turned into console lines:
 * for guests that write their console only to the screen.  Each snapshot
 * is compared with the lines already seen; rows below the overlap are new
 * (the screen scrolled), and the cursor's row is handed over as a prompt. */
#ifndef VMC_VALIDATE_SCREEN_H
#define VMC_VALIDATE_SCREEN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "validate/stages.h"

#define VMC_SCREEN_ROWS 25
#define VMC_SCREEN_COLS 80
#define VMC_SCREEN_HISTORY 64

struct vmc_screen {
	char hist[VMC_SCREEN_HISTORY][VMC_SCREEN_COLS + 1];
	unsigned nhist;
	char pending[VMC_SCREEN_COLS + 1];	/* the cursor's row */
	bool have_pending;
	FILE *log;		/* new rows are written here, or NULL */
};

/* cells: 2000 character/attribute pairs (the low byte is the character).
 * Feeds new complete rows to w as lines and the last row as a prompt (as
 * a line once it stays the same, or when final: the VM has stopped).
 * Returns true when w's verdict is final. */
bool vmc_screen_feed(struct vmc_screen *s, const uint16_t *cells,
		     struct vmc_watch *w, unsigned ms, bool final);

/* QEMU's "xp /2000hx 0xb8000" output to cells; returns how many. */
size_t vmc_screen_parse_xp(const char *text, uint16_t *cells, size_t max);

#endif
