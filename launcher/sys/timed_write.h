/* Writing a kernel attribute (sysfs) with a time limit.
 *
 * A write to sysfs can block in the kernel for as long as something else
 * holds what it changes: unbinding a driver waits for every user of the
 * device, a vtconsole unbind waits for the console lock, a bus rescan for
 * every probe it starts. Such a process cannot even be killed until the
 * write returns. So every write vmrun makes to sysfs is one
 * open()+write()+close() in a child process, waited for with a timeout: the
 * child takes the risk of hanging, and vmrun reports what is stuck instead
 * of hanging with it. Having one write path also gives the test suite's
 * sysfs simulator one place to intercept. */
#ifndef VMRUN_TIMED_WRITE_H
#define VMRUN_TIMED_WRITE_H

#include <sys/types.h>

#include "base/error.h"

/* Default time a write may take before vmrun gives up on it; the test
 * build's seam SEAM_SYSFS_TIMEOUT_MS overrides it (sys/seams.h). */
#define TIMED_WRITE_DEFAULT_MS 10000

/* The limit in effect, in milliseconds. */
int timed_write_limit_ms(void);

/* Write value to path in a child process, within timeout_ms (<= 0: the
 * limit in effect). Returns 0; -ETIMEDOUT when the child did not finish in
 * time (*stuck, when not NULL, gets its pid: it was sent SIGKILL, which the
 * kernel delivers only once the write returns, and is not waited for); or
 * the negative errno of the open or the write. err names the path and the
 * value. */
int timed_write(const char *path, const char *value, int timeout_ms, pid_t *stuck,
                struct vmrun_error *err);

/* Read up to len bytes of path (a binary attribute such as a PCI ROM) in a
 * child process, within timeout_ms, starting at offset 0. Returns the
 * number of bytes read, or a negative errno (-ETIMEDOUT as above). */
ssize_t timed_read(const char *path, void *buf, size_t len, int timeout_ms,
                   struct vmrun_error *err);

#endif
