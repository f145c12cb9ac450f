/* Child processes for the engines that run QEMU: pipes for its stdin,
 * stdout, stderr and extra output descriptors 3, 4, ... (serial ports and
 * the debug port, opened by QEMU as /dev/fd/N). */
#ifndef VMC_VALIDATE_PROCESS_H
#define VMC_VALIDATE_PROCESS_H

#include <stdbool.h>
#include <poll.h>
#include <stddef.h>
#include <sys/types.h>

#include <vmconv/error.h>

#define VMC_PROC_EXTRA 4

struct vmc_proc {
	pid_t pid;
	int in;				/* write end of its stdin */
	int out, errfd;			/* read ends of stdout, stderr */
	int extra[VMC_PROC_EXTRA];	/* read ends of its fds 3.. */
	int nextra;
	char errbuf[2048];		/* the last of its stderr */
	size_t errlen;
};

/* Start argv[0] (searched in PATH) with nextra extra output pipes.  The
 * child dies with us (PR_SET_PDEATHSIG). */
int vmc_proc_spawn(struct vmc_proc *p, char *const argv[], int nextra,
		   struct vmc_error *err);

/* Keep the tail of its stderr in errbuf. */
void vmc_proc_take_stderr(struct vmc_proc *p, const char *buf, size_t len);

/* Kill (if still running) and reap; returns the wait status. */
int vmc_proc_end(struct vmc_proc *p, bool kill_it);

/* Run argv to completion; 0 when it exited 0, else -1 with its stderr in
 * err. */
int vmc_proc_run(char *const argv[], struct vmc_error *err);

/* Reading a child's output pipes as they fill, in the order they were
 * added; a pipe that ends is closed and its descriptor (in struct
 * vmc_proc) set to -1. */
#define VMC_PUMP_MAX (3 + VMC_PROC_EXTRA)

struct vmc_pump {
	int *fd[VMC_PUMP_MAX];
	struct pollfd pf[VMC_PUMP_MAX];
	int n;
};

/* Adds a pipe; its index in the pump is the order of adding. */
void vmc_pump_add(struct vmc_pump *pu, int *fd);

/* Whether any pipe is still open. */
bool vmc_pump_open(const struct vmc_pump *pu);

/* Waits up to wait_ms for the open pipes.  Returns -1 when poll failed
 * (not for EINTR), else 0. */
int vmc_pump_wait(struct vmc_pump *pu, int wait_ms);

/* Reads pipe i if the last wait found it ready: returns the bytes read,
 * or 0 (not ready, interrupted, or it just ended). */
ssize_t vmc_pump_read(struct vmc_pump *pu, int i, char *buf, size_t len);

/* Milliseconds on the monotonic clock. */
unsigned long long vmc_now_ms(void);

#endif
