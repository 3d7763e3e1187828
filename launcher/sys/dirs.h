/* vmrun's own directories, made with the mode they must have.
 *
 * mkdir() takes the caller's umask off the mode it is given, and vmrun
 * runs with whatever umask its caller had (sudo passes the caller's on):
 * a user with umask 077 made /var/lib/vmrun 0700, and from then on, across
 * reboots, every other user's QEMU was shut out of it. A directory here is
 * made, or found, and then given its mode explicitly through the fd it was
 * opened as (never followed through a link), whatever the umask was and
 * whatever an earlier run left. */
#ifndef VMRUN_DIRS_H
#define VMRUN_DIRS_H

#include <sys/types.h>

#include "base/error.h"

/* The modes of vmrun's roots when it runs as root (for an ordinary user,
 * whose roots are in their own directories: 0700). The run directory
 * (/run/vmrun) lets every user through to .hugetlbfs (QEMU's memory file)
 * and lists only VM names; each VM's own directory in it is 0700. The
 * state directory (/var/lib/vmrun) lets QEMU's user reach its VM's TPM
 * state, and nobody list it. */
#define VMRUN_RUN_DIR_MODE 0755
#define VMRUN_STATE_DIR_MODE 0711

/* The mode of root (HOST_RUN or HOST_STATE) for the user vmrun runs as. */
mode_t dir_root_mode(int host_root);

/* path: a directory owned by vmrun's user with exactly mode, made when
 * missing. -EPERM (err says what is there) when something else is at
 * path: a link, a file, another user's directory. */
int dir_make(const char *path, mode_t mode, struct vmrun_error *err);

/* The same for every directory above path that is missing, each made
 * with parent_mode (those that exist are left as they are), then path
 * itself with mode. */
int dir_make_all(const char *path, mode_t parent_mode, mode_t mode, struct vmrun_error *err);

/* Remove what the directory open at dirfd holds (the fd is taken: closed
 * here), never following a link, at most DIR_REMOVE_DEPTH levels deep (a
 * tree someone else made may be deeper than any stack). Then rmdir the
 * directory itself: dir_remove(). Best effort: what is left stays. */
#define DIR_REMOVE_DEPTH 32
void dir_remove_tree(int dirfd);
void dir_remove(const char *path);

#endif
