/* The VM's TPM 2.0: an swtpm process beside QEMU and its persistent state.
 *
 * State: <state dir>/NAME/tpm (/var/lib/vmrun/NAME/tpm), made by vmrun,
 * once, for the user QEMU runs as (owner that user, mode 0700), and kept
 * from run to run like the VM's UEFI variables: secrets the guest seals in
 * its TPM (BitLocker, Windows Hello) live there. Its path is vmrun's
 * choice, never the profile's; the directory above it is root's (0711), so
 * only vmrun can replace it. A directory there with another owner, or open
 * to group or others, is refused with the fix (the TPM of a VM whose
 * run_as changed, or a copy restored carelessly): vmrun never changes the
 * owner or mode of what is already there.
 *
 * Process: swtpm runs as QEMU's user with QEMU's restrictions (no
 * capabilities, no_new_privs, its own seccomp filter), in its own process
 * group (Ctrl-C on the terminal is the supervisor's), and dies with the
 * supervisor (PR_SET_PDEATHSIG). It is reached through a socketpair: swtpm
 * holds one end as its control channel ("--ctrl type=unixio,clientfd=3"),
 * QEMU inherits the other ("-chardev socket,fd=N -tpmdev emulator") and
 * passes swtpm its data channel over it; no socket file exists. swtpm ends
 * by itself when QEMU's end closes after QEMU has used it ("--terminate");
 * the supervisor stops it otherwise.
 *
 * Journal: "swtpm" is recorded before the process is started, with the
 * state directory and the uid it runs as; its undo ends every swtpm of that
 * uid serving that directory (found in /proc by its command line), so
 * `vmrun recover` leaves none behind. The state itself outlives the run and
 * is not undone. */
#ifndef VMRUN_TPM_H
#define VMRUN_TPM_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#include "base/error.h"
#include "journal/journal.h"
#include "priv/priv_drop.h"

#define TPM_STATE_DIR_NAME "tpm"

/* The state directory of a VM: <vm_state_dir>/tpm. */
int tpm_state_path(char *buf, size_t len, const char *vm_state_dir);

/* Is the state directory right for uid? 0 when it exists and is (a real
 * directory, owned by uid, no group or other access); -ENOENT when it does
 * not exist yet (it will be made); -EPERM with err naming the fix when it
 * is wrong; another negative errno when it cannot be looked at. Read-only. */
int tpm_state_check(const char *vm_state_dir, uid_t uid, struct vmrun_error *err);

/* Make the state directory for uid:gid when it does not exist, then check it
 * (tpm_state_check). vm_state_dir must exist and be root's. 0 with path
 * filled, or a negative errno with err set. */
int tpm_state_prepare(const char *vm_state_dir, uid_t uid, gid_t gid, char *path, size_t len,
                      struct vmrun_error *err);

struct swtpm_proc {
    pid_t pid;    /* 0: not running (or reaped) */
    int qemu_end; /* the socket QEMU inherits; -1 once handed over */
    int status;   /* from waitpid, once reaped */
    bool reaped;
};

/* Start swtpm for the state directory state_path (from tpm_state_prepare),
 * as target (NULL or !change: vmrun's own identity), journaling it first.
 * binary: "swtpm" or a path. 0 with p->pid and p->qemu_end set; a negative
 * errno with err set (swtpm could not be started, or failed at once). */
int swtpm_start(struct journal *j, const char *binary, const char *state_path,
                const struct priv_target *target, struct swtpm_proc *p, struct vmrun_error *err);

/* Reap swtpm if it has exited (block: wait for it). True once it has. */
bool swtpm_reap(struct swtpm_proc *p, bool block);

/* swtpm has no more use (QEMU is gone, or never ran): give it grace_ms to
 * end by itself, then SIGTERM (it saves its state and exits), then SIGKILL,
 * and reap it. Closes qemu_end if still held. */
void swtpm_stop(struct swtpm_proc *p, unsigned grace_ms);

/* "swtpm exited with status N" / "swtpm was killed by signal N (...)". */
void swtpm_describe_exit(const struct swtpm_proc *p, char *buf, size_t len);

/* The journal op "swtpm" and its table (plan/undo.c). */
int swtpm_undo(const cJSON *args, struct vmrun_error *err);
extern const struct journal_op tpm_journal_ops[];

#endif
