/* Loading a profile: one path, resolved once, checked and read from one fd.
 *
 * As root (trust.h says which profiles root believes) the profile argument
 * is looked up (NAME in the invoking user's configuration directory, then
 * /etc/vmrun/; a path as given, made absolute against the current
 * directory), resolved by the root-controlled walk of sys/safepath.h, its
 * trust decided on the fd the walk returns, and that same file read and
 * parsed. Nothing is looked up twice, so nothing can be swapped in between.
 *
 * /proc/..., /dev/fd/..., /dev/stdin, and any path whose meaning depends
 * on the caller (a current directory from another mount namespace) are
 * refused as root, with a message saying where to put the profile.
 *
 * Through sudo or pkexec, nothing of a file the invoking user could not
 * read themselves is echoed back: a profile root controls but the user may
 * not read that is invalid gets one sentence without its details, and a
 * path the user cannot reach is reported without saying what is there.
 *
 * As an ordinary user (or root with --trust-profile) the profile is read
 * with the caller's own rights, as profile_load() does. */
#ifndef VMRUN_PROFILE_OPEN_H
#define VMRUN_PROFILE_OPEN_H

#include <stdbool.h>
#include <stddef.h>

#include "base/diag.h"
#include "base/error.h"
#include "profile/profile.h"

struct profile_open_opts {
    bool root_vouches; /* --trust-profile: root, not through sudo/pkexec, accepts any file */
};

/* Load arg into *out; path (len bytes) receives the file's path.
 * Returns 0 (diags may hold warnings); -EINVAL with the problems in diags
 * (or, when they are withheld, err) for a bad profile; -EPERM with err for
 * a refused one; another negative errno with err when it cannot be found
 * or read. *out is zeroed on failure. */
int priv_load_profile(const char *arg, const struct profile_open_opts *o, struct vm_profile *out,
                      char *path, size_t len, struct diag_list *diags, struct vmrun_error *err);

#endif
