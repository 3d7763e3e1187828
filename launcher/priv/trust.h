/* Which profiles vmrun believes when it runs as root.
 *
 * A profile names devices, disks and QEMU arguments that root opens, binds
 * and hands to QEMU: whoever can change the file decides what root does.
 * So as root vmrun accepts only profiles root controls, as sshd's
 * StrictModes does for authorized_keys: the file owned by root and
 * writable by neither group nor others, every directory on the way (and
 * every symlink followed) under root's alone (sys/safepath.h). The profile
 * is resolved, checked and read from one fd (priv/profile_open.h).
 *
 *   - Through sudo or pkexec (real uid 0, SUDO_UID or PKEXEC_UID naming
 *     another user): always. A refused profile belongs in
 *     /etc/vmrun/NAME.json.
 *   - Run by root directly: the same, unless root says otherwise for one
 *     run with --trust-profile (root vouches for a file it does not
 *     control, e.g. one in a user's home). Through sudo or pkexec that
 *     option is refused: it is root's to give, not the caller's.
 *   - Run by an ordinary user: nothing is checked; there is no privilege to
 *     lend.
 *
 * A qemu.binary given as a path must itself pass the same check whenever
 * vmrun is root (even with --trust-profile): it is what runs, and whoever
 * controls its path could swap it after any check. A bare name is looked
 * up in a fixed PATH of root's directories (sys/child_env.h), never the
 * caller's. */
#ifndef VMRUN_TRUST_H
#define VMRUN_TRUST_H

#include <stdbool.h>

#include "base/error.h"
#include "profile/profile.h"

/* Where a refused profile should go. */
#define TRUST_PROFILE_DIR "/etc/vmrun"

enum trust_mode {
    TRUST_NONE,     /* an ordinary user: nothing to check */
    TRUST_ROOT,     /* root itself */
    TRUST_DELEGATED /* sudo/pkexec for another user */
};

/* The mode for this process (real/effective uid and SUDO_UID/PKEXEC_UID). */
enum trust_mode trust_mode(void);

/* 0 when root controls the file at path and its content (see above): a
 * regular file. Else -EPERM with err naming the first offending file or
 * directory and why (owner, mode), or another negative errno when the path
 * cannot be examined (-ENOENT, -ELOOP for /proc or too many links,
 * -ENOTDIR). A relative path is taken from the current directory. */
int trust_check_path(const char *path, struct vmrun_error *err);

/* qemu.binary, when p names one by path and vmrun is root, must pass
 * trust_check_path(). 0 or -EPERM/-ENOENT with err naming the profile. */
int trust_check_binary(const char *profile_path, const struct vm_profile *p,
                       struct vmrun_error *err);

#endif
