/* A VM's runtime directory: <run dir>/NAME (mode 0700), holding
 *   lock            an OFD write lock held by the supervisor for its life
 *   supervisor.pid  the supervisor's pid
 *   qemu.pid        QEMU's pid once it runs
 *   qmp.sock        QEMU's QMP socket (in the qemu/ subdirectory)
 *   journal         host changes to undo (journal.h)
 *   state.json      what `vmrun status` shows (pids, thread ids, start time)
 *   log             the supervisor's log in --detach mode
 *   stop-request    what `vmrun stop` asks for (timeout, force, reply path)
 *   started_by      the uid of who started it (priv/access.h: through sudo
 *                   or pkexec only they may stop or recover it)
 *   control         the request channel of other vmrun commands (control.h)
 *   input.json      the VM's input devices, for `vmrun status` (vm_input.h)
 *
 * The lock decides whether a VM runs: a directory whose lock nobody holds
 * belongs to a dead supervisor (stale), whatever its pid files say. */
#ifndef VMRUN_RUNTIME_H
#define VMRUN_RUNTIME_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#include "base/error.h"

struct vm_runtime {
    char name[65];
    char dir[PATH_MAX];
    int lock_fd; /* -1 when not held */
};

enum runtime_state {
    RUNTIME_ABSENT,  /* no directory */
    RUNTIME_RUNNING, /* a live supervisor holds the lock */
    RUNTIME_STALE,   /* a directory without a live supervisor */
};

/* <run dir>/NAME[/file] into buf. */
int runtime_path(char *buf, size_t len, const char *name, const char *file);

/* Create the directory (appearing already locked) or take over a dead
 * supervisor's, and hold the lock. -EBUSY (with err naming the running
 * supervisor's pid) when a live supervisor holds it; -EPERM for a directory
 * vmrun did not make (not ours, not 0700, a symlink). Writes
 * supervisor.pid. */
int runtime_acquire(const char *name, struct vm_runtime *rt, struct vmrun_error *err);

/* Remove every file of the directory and the directory itself, then drop the
 * lock. Safe on a half-made directory. */
void runtime_release(struct vm_runtime *rt);

/* Is a VM called name running? Does not take the lock. *supervisor gets the
 * recorded supervisor pid (0 when unknown). */
enum runtime_state runtime_probe(const char *name, pid_t *supervisor);

/* Record who started the VM (started_by). */
int runtime_write_starter(const struct vm_runtime *rt, uid_t uid, struct vmrun_error *err);

/* Who started name: true with *uid, or false when there is no record. */
bool runtime_read_starter(const char *name, uid_t *uid);

/* May the caller stop or recover name (priv/access.h)? 0, or -EPERM
 * with err. */
int runtime_check_manage(const char *name, struct vmrun_error *err);

/* Read a small pid file of the runtime dir (0 when absent). */
pid_t runtime_read_pid(const char *name, const char *file);
int runtime_write_file(const struct vm_runtime *rt, const char *file, const char *content,
                       struct vmrun_error *err);

/* Wait until the supervisor of name has released its lock (it has put the
 * host back and is exiting), at most timeout_s seconds. 0 when it has,
 * -ETIMEDOUT otherwise. Blocks on the lock itself: no polling delay. */
int runtime_wait_released(const char *name, long timeout_s);

/* Take the lock of a stale directory (a dead supervisor's) to recover it:
 * 0 with rt holding the lock (runtime_release() removes the directory);
 * -ENOENT when there is none; -EBUSY when a live supervisor holds it;
 * -EPERM when it is not a directory vmrun made. */
int runtime_lock_stale(const char *name, struct vm_runtime *rt, struct vmrun_error *err);

/* List the names with a runtime directory; caller frees each and the array. */
int runtime_list(char ***names, size_t *n, struct vmrun_error *err);

#endif
