/* Opening a file with a user's rights, on that user's behalf.
 *
 * A path that leaves root's control (sys/safepath.h) is not opened by root:
 * it is opened as the user the file is for (QEMU's user, the user who asked
 * through sudo or pkexec), so they get exactly what they could already
 * open, and a symlink they planted leads only where they could go anyway.
 *
 * The open happens in a forked child that keeps root's real and effective
 * ids (so the user can neither signal nor trace it) and takes the user's
 * file-system ids and groups: setgroups, setfsgid, setfsuid. The kernel
 * checks every component against those, and it clears the file-system
 * capabilities (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, ...)
 * from the effective set when the fsuid leaves 0. As bubblewrap does, the
 * child checks each change took (setfsuid(-1) reports the current one), and
 * opens with openat2(RESOLVE_NO_MAGICLINKS), so /proc/self/fd/N and
 * /dev/stdin cannot reach anything the child inherited from root. The fd
 * comes back over a socketpair (SCM_RIGHTS). */
#ifndef VMRUN_USER_OPEN_H
#define VMRUN_USER_OPEN_H

#include <stddef.h>
#include <sys/types.h>

#include "base/error.h"

struct user_cred {
    uid_t uid;
    gid_t gid;
    const gid_t *groups; /* supplementary groups */
    size_t n_groups;
};

/* Room for a cred and its groups. */
struct user_cred_store {
    struct user_cred cred;
    gid_t groups[256];
};

/* The cred of uid with primary group gid and the groups /etc/group gives
 * it (only gid when it has no passwd entry). Returns 0. */
int user_cred_of(uid_t uid, gid_t gid, struct user_cred_store *s);

/* Open the absolute path with flags (O_CLOEXEC and O_NOCTTY are added) as
 * c would. Returns the fd, or a negative errno (what the open gave the
 * user: -EACCES, -ENOENT, ...; -ELOOP for a magic link) with err naming
 * path and the user. When vmrun is not root, opens directly: it already
 * has no rights but its own. */
int user_open(const struct user_cred *c, const char *path, int flags, struct vmrun_error *err);

/* A file named on the command line: through sudo or pkexec opened with the
 * invoking user's rights (user_open), so root reads nothing for them they
 * could not read themselves; otherwise opened plainly. O_CLOEXEC and
 * O_NOCTTY are added. Returns the fd or a negative errno with err naming
 * path ("Permission denied" is the caller's own). */
int priv_open_as_caller(const char *path, int flags, struct vmrun_error *err);

#endif
