/* vmconv image checks (vmconv check), with qemu-img's exit codes:
 * 0 clean, 2 corruptions, 3 leaks only, 1 the check could not complete. */
#ifndef VMCONV_CHECK_H
#define VMCONV_CHECK_H

#include <stdint.h>

#include <vmconv/image.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vmc_check_result {
	uint64_t corruptions;		/* found and not fixed */
	uint64_t leaks;			/* found and not fixed */
	uint64_t corruptions_fixed;
	uint64_t leaks_fixed;
	uint64_t check_errors;		/* parts that could not be checked */
	uint64_t allocated_clusters;	/* 0 when the format has no clusters */
	uint64_t total_clusters;
	uint64_t fragmented_clusters;
	uint64_t compressed_clusters;
	uint64_t image_end_offset;	/* 0 when unknown */
	/* One line per problem, in the order found ("Leaked cluster 5
	 * refcount=1 reference=0"); added with vmc_check_report(). */
	char **messages;
	size_t n_messages;
};

/* Append a problem line (printf-style) to res->messages.  Capped at a few
 * thousand lines; the counts above always stay exact. */
void vmc_check_report(struct vmc_check_result *res, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void vmc_check_result_free(struct vmc_check_result *res);

/* A stretch of the image file that a format's table points at. */
struct vmc_file_range {
	uint64_t off, len;
};

/* Sort r[0..n) by offset and report each range that starts inside an
 * earlier one as a corruption ("blocks at file offsets 0x.. and 0x..
 * overlap").  Returns the furthest end of them all (0 when n is 0). */
uint64_t vmc_check_overlaps(struct vmc_check_result *res,
			    struct vmc_file_range *r, size_t n);

/* Whether the image's format has a check. */
bool vmc_image_can_check(const struct vmc_image *img);

/* Run the driver's check.  Fails with ENOTSUP if the format has none. */
int vmc_image_check(struct vmc_image *img, struct vmc_check_result *res,
		    bool repair, struct vmc_error *err);

/* 1 check errors, 2 corrupt, 3 leaks only, 0 clean (qemu-img check). */
int vmc_check_exit_code(const struct vmc_check_result *res);

#ifdef __cplusplus
}
#endif
#endif
