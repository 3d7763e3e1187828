/* The supervisor: prepares the host, starts QEMU paused, pins its threads,
 * lets it run, watches it, stops it gracefully on request, and puts the host
 * back. It never returns before QEMU is reaped and the host is cleaned.
 *
 * Stop sequence (first SIGINT, SIGTERM or SIGHUP, or `vmrun stop`):
 *   system_powerdown (ACPI), wait up to shutdown.timeout for the guest to
 *   power off; a second signal or the timeout sends `quit`; if QEMU still
 *   lives 5 s later it is killed with SIGKILL.
 *
 * With a TPM, swtpm is started right before QEMU and watched with it: if it
 * dies while the VM runs, that is reported and the VM is stopped as for a
 * stop request (ACPI, then quit), and the run ends as a failure. It is
 * stopped once QEMU is gone, whatever the ending.
 *
 * If the supervisor itself is killed with SIGKILL, the kernel kills QEMU too
 * (PR_SET_PDEATHSIG), and swtpm: a VM never runs without a supervisor that can give
 * its devices back. The journal stays, and `vmrun recover NAME`, `vmrun
 * status`/`list` or the next `vmrun start NAME` put the host back. */
#ifndef VMRUN_SUPERVISOR_H
#define VMRUN_SUPERVISOR_H

#include <stdbool.h>

#include "base/error.h"
#include "priv/priv_drop.h"
#include "profile/profile.h"
#include "qemu/firmware.h"
#include "supervisor/outcome.h"

#define SUPERVISOR_QUIT_GRACE_S 5

struct supervisor_opts {
    const char *profile_path;         /* for status */
    bool force;                       /* host checks that cannot lose data may be overridden */
    const struct priv_target *target; /* who QEMU runs as (priv_resolve_target) */
    const struct firmware_choice *firmware; /* from vm_preflight(); NULL: chosen here */
    int ready_fd; /* --detach: "ok\n" or "error: ...\n" written here, then closed; -1 */
    bool to_log;  /* --detach: after the runtime directory exists, stdio -> its log */
    void (*say)(void *opaque, const char *msg); /* status lines */
    void *say_opaque;
};

/* Whether the host was put back after the run. */
struct vm_left {
    bool host_restored; /* false: an undo failed, the journal stays for `vmrun recover` */
    char what[VMRUN_ERROR_MSG_MAX]; /* then: the steps that did not undo, and why */
};

/* Run the VM to the end. Returns the outcome; err holds the reason for
 * VM_NOT_STARTED and VM_QEMU_FAILED, and a message when cleanup failed;
 * *left (when not NULL) says whether the host was put back. */
enum vm_outcome supervise_vm(const struct vm_profile *p, const struct supervisor_opts *o,
                             struct vm_left *left, struct vmrun_error *err);

#endif
