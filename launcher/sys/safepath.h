/* Resolving a path the way root must when someone else may have written it.
 *
 * vmrun runs as root on behalf of users (sudo, pkexec), and the paths it is
 * given (the profile, the disks, firmware, kernel, ROMs, devices a profile
 * names) may run through directories those users can change. A path is
 * resolved here once, from "/", one component at a time, in the manner of
 * systemd's chase(): each component is opened with O_PATH|O_NOFOLLOW
 * relative to the directory fd before it, and examined on that fd. A
 * symlink is followed only when nobody but root could have put it there;
 * the walk never follows a link, nor enters a directory, on procfs (whose
 * "magic" links name whatever the opening process holds, in whatever
 * namespace: /dev/stdin, /dev/fd/N, /proc/self/...).
 *
 * "Only root can change" an entry NAME of directory D when D is root's and
 * nobody else may write to it, or D is sticky (like /tmp) and NAME itself
 * is root's: then nobody else may rename, replace or remove it. A path is
 * root-controlled when every directory on the way and every link followed
 * is; the walk stops at the first place that is not, and says who controls
 * it. What it names is then not opened by root at all: it is opened with
 * the rights of the user it is for (priv/user_open.h), or refused.
 *
 * Every check is made on the fd the walk returns, and that fd (or one
 * reopened from it, safe_reopen()) is what is then used: a path is never
 * looked up twice. */
#ifndef VMRUN_SAFEPATH_H
#define VMRUN_SAFEPATH_H

#include <limits.h>
#include <stdbool.h>
#include <sys/stat.h>

#include "base/error.h"

struct safe_path {
    int fd;               /* O_PATH fd of what the path names (owned); -1 when not resolved */
    struct stat st;       /* fstat of fd */
    bool root_controlled; /* false: the walk stopped where someone else has control */
    char why[PATH_MAX + 96]; /* when !root_controlled: where and who ("/home/al is owned by uid 1000") */
};

void safe_path_close(struct safe_path *sp);
#define cleanup_safe_path __attribute__((cleanup(safe_path_close)))

/* Resolve the absolute path as described above. Returns 0 with sp->fd open
 * and sp->root_controlled true, or 0 with sp->fd -1 and root_controlled
 * false (sp->why says where root's control ends; nothing past that point
 * was looked at). Negative errno with err set: -EINVAL (not absolute),
 * -ENOENT / -ENOTDIR / -EACCES from a root-controlled directory, -ELOOP
 * (too many links, or a path through procfs: err says so),
 * -ENAMETOOLONG. */
int safe_resolve(const char *path, struct safe_path *sp, struct vmrun_error *err);

/* True when the file itself (not only its path) is root's: owned by root
 * and writable by neither its group nor others (what sshd's StrictModes
 * asks of authorized_keys). why gets the reason when false. */
bool safe_content_is_roots(const struct stat *st, const char *path, char *why, size_t len);

/* Open the file sp->fd names with flags (O_RDONLY, O_RDWR, O_WRONLY,
 * possibly O_NONBLOCK, O_APPEND, O_TRUNC), through /proc/self/fd: the same
 * inode, never the path again. Returns the fd (O_CLOEXEC) or -errno. */
int safe_reopen(const struct safe_path *sp, int flags);

#endif
