/* The stop protocol between `vmrun stop` (the requester) and a VM's
 * supervisor, both sides:
 *
 *   1. the requester makes a directory of its own under the run directory
 *      (.stop-XXXXXX, root's, 0700) holding an empty reply file;
 *   2. it writes stop-request into the VM's runtime directory (runtime.h):
 *      {"timeout": S, "force": bool, "reply": "/run/vmrun/.stop-XXXXXX/reply"}
 *      and sends the supervisor SIGTERM;
 *   3. the supervisor takes the request with the signal (stop_request_take)
 *      and runs its stop sequence (supervisor.h); once the host is put back
 *      it writes how the VM ended into the reply file (stop_reply_write):
 *      {"outcome": "...", "code": N, "detail": "..."}, with "restored":
 *      false and "left": "..." when an undo failed (the journal stays for
 *      `vmrun recover`), and lets go of its lock;
 *   4. the requester waits for the lock, reads the reply and removes its
 *      directory.
 *
 * A request without a reply path, or a reply the requester cannot read, is
 * still a stop: the requester then only knows that the VM stopped.
 *
 * Nothing of a requester outlives it: it removes its directory on every
 * path, also when SIGINT, SIGTERM or SIGHUP interrupt it (then it dies of
 * the signal, as it would have). What SIGKILL leaves, and what earlier
 * versions left, the next stop removes: requesters hold an flock on their
 * reply file while they wait, and make their directory and sweep the
 * unheld ones under one lock (<run root>/.stop.lock). */
#ifndef VMRUN_STOP_H
#define VMRUN_STOP_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#include "base/error.h"
#include "supervisor/supervisor.h"

/* ---- the supervisor's side ---------------------------------------------- */

struct stop_request {
    int timeout_s; /* -1: the profile's */
    bool force;
    char reply[PATH_MAX]; /* "" when there is none to write */
};

/* Read and remove the stop-request file of the runtime directory rt_dir:
 * the defaults (the profile's timeout, no force, no reply) when there is
 * none or it cannot be read. */
void stop_request_take(const char *rt_dir, struct stop_request *req);

/* Write how the VM ended into the requester's reply file (nothing when
 * reply is ""): only into that file, never through a link, never created.
 * left: NULL when the host was put back, else what is left on it. */
void stop_reply_write(const char *reply, enum vm_outcome o, const char *detail, const char *left);

/* ---- the requester's side ----------------------------------------------- */

struct stop_requester {
    char dir[PATH_MAX];   /* its own directory, "" when none was made */
    char reply[PATH_MAX]; /* the reply file in it, "" when none */
    int reply_fd;         /* open on it and flocked while we wait; -1 */
    long wait_s;          /* how long stop_wait() waits */
};

/* What the supervisor replied. */
struct stop_reply {
    bool replied; /* false: the VM stopped, nothing more is known */
    char outcome[256];
    int code; /* enum vm_outcome, -1 when not given */
    char detail[VMRUN_ERROR_MSG_MAX];
    bool restored; /* false: the host was not put back completely */
    char left[VMRUN_ERROR_MSG_MAX]; /* then: what is left on it */
};

/* Ask the supervisor (pid sup) of VM name to stop it: through ACPI with up
 * to timeout seconds for the guest (-1: the profile's shutdown.timeout), or
 * at once with force. 0 once the supervisor has been signalled (then
 * stop_requester_end() must follow), or a negative errno with err and
 * nothing left behind. Removes the reply directories of requesters that
 * are gone. */
int stop_send(struct stop_requester *sr, const char *name, pid_t sup, long timeout, bool force,
              struct vmrun_error *err);

/* Wait until the supervisor of name has put the host back (sr->wait_s at
 * most: -ETIMEDOUT), then read its reply into *reply. */
int stop_wait(struct stop_requester *sr, const char *name, struct stop_reply *reply);

/* Remove the requester's directory. Safe to call more than once. */
void stop_requester_end(struct stop_requester *sr);

#endif
