/* vmconv atomic output.
 *
 * Every file a conversion or create writes goes through a vmc_output: it is
 * written as a temporary file beside its final name
 * (".<name>.vmconv-tmp.<pid>") and renamed into place only by
 * vmc_output_commit(), after every file has been flushed.  Abort, an error,
 * SIGINT or SIGTERM unlink the temporaries; after a SIGKILL the next run
 * removes stale temporaries whose process is gone.  So no half-written
 * file ever stands under a target name.
 */
#ifndef VMCONV_OUTPUT_H
#define VMCONV_OUTPUT_H

#include <stdbool.h>

#include <vmconv/error.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vmc_output;

struct vmc_output *vmc_output_new(void);

/* Create the temporary file for final_path and return its descriptor
 * (O_RDWR; owned by the output, closed at commit/abort). */
int vmc_output_open(struct vmc_output *o, const char *final_path,
		    struct vmc_error *err);

/* The temporary path behind a descriptor returned by vmc_output_open, for
 * error messages; the final path is what users should see. */
const char *vmc_output_final_path(struct vmc_output *o, int fd);

/* The temporary path being written for final_path (NULL when there is
 * none: not in this output, or a block device written in place).  Valid
 * until commit or abort; for a step that edits the finished file before
 * it is renamed into place (driver injection). */
const char *vmc_output_tmp_path(struct vmc_output *o, const char *final_path);

/* qemu-img's cache=unsafe: no file is ever flushed to the disk (the
 * rename stays atomic, but a crash may leave a renamed, incomplete file).
 * The default is durable. */
void vmc_output_set_unsafe(struct vmc_output *o, bool unsafe);
bool vmc_output_is_unsafe(const struct vmc_output *o);

/* For drivers writing into an output: fdatasync(fd), unless o is unsafe.
 * o may be NULL (an image written in place): always flushed. */
int vmc_output_datasync(struct vmc_output *o, int fd, const char *path,
			struct vmc_error *err);

/* Start the write-back of every file's dirty pages without waiting
 * (sync_file_range SYNC_FILE_RANGE_WRITE), so that the final flush has
 * little left to do.  Unsafe outputs get it too: it never waits, and
 * without it the kernel throttles a writer holding many dirty pages. */
void vmc_output_writeback(struct vmc_output *o);

/* fsync every file (unless unsafe), rename them into place (extents before the main
 * file), fsync the folders. */
int vmc_output_commit(struct vmc_output *o, struct vmc_error *err);

/* Unlink every temporary file.  Safe after commit (does nothing). */
void vmc_output_abort(struct vmc_output *o);

void vmc_output_free(struct vmc_output *o);

/* Install SIGINT/SIGTERM/SIGHUP handlers that unlink all temporaries of
 * all live outputs and then die of the signal. */
void vmc_output_install_signal_handlers(void);

/* Remove ".*.vmconv-tmp.<pid>" files in the folder of path whose process
 * no longer exists.  Returns how many were removed. */
int vmc_output_clean_stale(const char *path);

#ifdef __cplusplus
}
#endif
#endif
