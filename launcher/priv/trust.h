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
 * Where a profile may come from, whatever its owner and mode (README,
 * "Security model"): root-owned is not root-written.
 *   - Never from vmrun's own run and state directories (/run/vmrun,
 *     /var/lib/vmrun): vmrun makes files there that QEMU, the guest or a
 *     run fills (the serial log, the UEFI variable store, the logs), even
 *     with --trust-profile.
 *   - Through sudo or pkexec, only from under /etc/vmrun (the file itself,
 *     as its descriptor names it, not a link to it from there): the one
 *     place where only the administrator puts profiles. Any other file root
 *     owns may hold what a user or a daemon wrote for them.
 *   - Through sudo or pkexec, only a profile the caller can read: it is
 *     opened again with the caller's own rights and must be the same file,
 *     so nothing of a file they could not read (its command line, its
 *     problems) is shown to them or run for them.
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
#include "profile/profile_load.h"

/* Where a refused profile should go. */
#define TRUST_PROFILE_DIR VMRUN_SYSCONF_PROFILE_DIR

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

/* Is the regular file open at fd (its canonical path from the kernel)
 * somewhere a profile may come from in this mode (see above)? 0, or -EPERM
 * with err saying why (path names the file as the user gave it). */
int trust_check_place(int fd, enum trust_mode mode, const char *path, struct vmrun_error *err);

/* Would a profile at path pass through sudo or pkexec, who may read it
 * aside: trust_check_path() and the places above. 0 or a negative errno
 * with err. */
int trust_check_delegated(const char *path, struct vmrun_error *err);

/* qemu.binary, when p names one by path and vmrun is root, must pass
 * trust_check_path(). 0 or -EPERM/-ENOENT with err naming the profile. */
int trust_check_binary(const char *profile_path, const struct vm_profile *p,
                       struct vmrun_error *err);

#endif
