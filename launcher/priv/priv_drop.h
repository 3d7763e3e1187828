/* Who QEMU runs as, and the drop to that identity right before exec.
 *
 * QEMU never needs root: vmrun (root) prepares the host, hands the few
 * files QEMU must open over to QEMU's user (priv_handover.h), and the forked
 * child drops every privilege right before exec:
 *
 *   parent, early (before any host change):  priv_resolve_target()
 *   child, after fork, before exec:          priv_set_memlock(), priv_drop()
 *
 * The target user is, first match wins:
 *   1. the profile's "run_as" (a user name, looked up with getpwnam);
 *   2. the user who called vmrun through sudo (SUDO_UID/SUDO_GID) or pkexec
 *      (PKEXEC_UID), when vmrun's real uid is 0;
 *   3. nobody else: vmrun run directly as root starts QEMU as root, with its
 *      capabilities, unchanged (root already controls the host; set
 *      "run_as" to confine QEMU), and vmrun run as an ordinary user starts
 *      QEMU as that user (there is nothing to drop).
 *
 * The drop (bubblewrap's discipline: every change is checked afterwards):
 * no_new_privs, the target's supplementary groups (precomputed here, so the
 * child needs no NSS lookup and no allocation), uid/gid with libcap-ng, the
 * permitted, effective, inheritable, ambient and bounding sets all emptied;
 * then priv_verify() proves it: getresuid/getresgid all equal the target,
 * the group list is exactly the target's, no capability in any set,
 * no_new_privs on, and setuid(0)/setgid(0) fail. */
#ifndef VMRUN_PRIV_DROP_H
#define VMRUN_PRIV_DROP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/error.h"
#include "profile/profile.h"

/* Why QEMU runs as the target. */
enum priv_source {
    PRIV_FROM_RUN_AS, /* the profile's run_as */
    PRIV_FROM_SUDO,   /* SUDO_UID */
    PRIV_FROM_PKEXEC, /* PKEXEC_UID */
    PRIV_FROM_SELF,   /* vmrun's own identity: nothing to change */
};

struct priv_target {
    bool change; /* false: exec QEMU with vmrun's own identity */
    enum priv_source source;
    uid_t uid;
    gid_t gid;
    gid_t *groups; /* supplementary groups, owned; may be NULL when n_groups is 0 */
    size_t n_groups;
    char user[64]; /* user name for messages ("uid N" when it has none) */
};

/* Decide who QEMU runs as (see above) and precompute its groups. When the
 * profile asks for KVM and the target cannot open /dev/kvm through its own
 * groups but /dev/kvm's group can, that group is added (what a "kvm" group
 * membership would give). Returns 0, or -EINVAL (err names run_as) for an
 * unknown user or a malformed SUDO_UID/PKEXEC_UID. */
int priv_resolve_target(const struct vm_profile *p, struct priv_target *t, struct vmrun_error *err);

void priv_target_free(struct priv_target *t);

/* The sudo/pkexec caller when vmrun's real uid is 0 and SUDO_UID or
 * PKEXEC_UID names a user other than root: 0 and *uid, *gid filled; else
 * -ENOENT. */
int priv_invoking_user(uid_t *uid, gid_t *gid);

/* Drop to t in the calling process (the child, right before exec). Does
 * nothing when !t->change. Returns 0 or a negative errno with err set; on
 * failure the caller must not exec. Uses no allocation of its own. */
int priv_drop(const struct priv_target *t, struct vmrun_error *err);

/* The checks priv_drop() ends with: the process is exactly t, without any
 * capability, and cannot become root again. */
int priv_verify(const struct priv_target *t, struct vmrun_error *err);

/* No capability in any set (effective, permitted, inheritable, bounding,
 * ambient), asked of the kernel: part of priv_verify(), and the check of a
 * helper that keeps its uid but gives up its capabilities. */
int priv_verify_no_capabilities(struct vmrun_error *err);

/* RLIMIT_MEMLOCK QEMU needs: guest RAM + 1 GiB when VFIO devices are
 * present (VFIO pins all guest memory), else 0 (leave the limit alone). */
uint64_t priv_memlock_bytes(const struct vm_profile *p);

/* Raise the soft and hard RLIMIT_MEMLOCK to at least bytes (never lowers
 * them; 0 does nothing). Call before priv_drop(): only root may raise the
 * hard limit. */
int priv_set_memlock(uint64_t bytes, struct vmrun_error *err);

#endif
