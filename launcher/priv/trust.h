/* Which profiles vmrun believes when it holds root for someone else.
 *
 * Through sudo or pkexec (real uid 0, SUDO_UID or PKEXEC_UID naming another
 * user), a profile can name any device, disk or QEMU argument with root's
 * help. So then vmrun accepts only profiles root controls, as sshd's
 * StrictModes does for authorized_keys: the file and every directory on the
 * way to it (every symlink followed, each symlink's own directory included)
 * owned by root and writable by neither group nor others. A refused profile
 * belongs in /etc/vmrun/NAME.json.
 *
 * Run directly as root, any profile is accepted (root chose to run it),
 * except that qemu.binary and qemu.extra_args are honoured only from a
 * root-controlled profile: those two run arbitrary programs as root, and a
 * root shell should not do that on behalf of whoever can write the file.
 *
 * Run as an ordinary user nothing is checked: there is no privilege to
 * lend.
 *
 * A qemu.binary given as a path must itself pass the same check in either
 * case: it is what runs.
 *
 * Checking after the profile was read is sound: a user cannot turn a path
 * they control into one root controls (only root can chown to root or
 * change a root-owned directory), so a path that passes now resolved to the
 * same file when it was read. */
#ifndef VMRUN_TRUST_H
#define VMRUN_TRUST_H

#include <stdbool.h>

#include "base/error.h"
#include "profile/profile.h"

/* Where a refused profile should go. */
#define TRUST_PROFILE_DIR "/etc/vmrun"

enum trust_mode {
    TRUST_NONE,     /* an ordinary user: nothing to check */
    TRUST_ROOT,     /* root itself: only binary and extra_args need a trusted file */
    TRUST_DELEGATED /* sudo/pkexec for another user: the whole profile */
};

/* The mode for this process (real/effective uid and SUDO_UID/PKEXEC_UID). */
enum trust_mode trust_mode(void);

/* 0 when root controls path (see above); else -EPERM with err naming the
 * first offending file or directory and why (owner, mode, loop), or another
 * negative errno when the path cannot be examined. */
int trust_check_path(const char *path, struct vmrun_error *err);

/* Apply the rules above to a loaded profile read from path. On refusal
 * returns -EPERM and err tells where to put the profile; the CLI exits 2. */
int trust_check_profile(const char *path, const struct vm_profile *p, struct vmrun_error *err);

#endif
