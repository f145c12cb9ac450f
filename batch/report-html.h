/* Pieces of the HTML report (report-html.c, report-svg.c). */
#ifndef VMC_BATCH_REPORT_HTML_H
#define VMC_BATCH_REPORT_HTML_H

#include <stdio.h>

#include <jansson.h>

/* The validator's report's stages as an inline SVG timeline. */
void vmc_batch_html_timeline(FILE *f, json_t *validation);

#endif
