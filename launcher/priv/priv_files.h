/* Opening the files a profile names, for QEMU.
 *
 * QEMU gets these as file descriptors (qemu/cmdline.h says which option
 * takes which), opened here with the rights the path deserves:
 *   - a path only root controls (sys/safepath.h) is opened by root, from
 *     the fd its resolution gave: the profile (itself root-controlled)
 *     chose to give QEMU that file;
 *   - any other path is opened with the rights of QEMU's user
 *     (priv/user_open.h), so that user gets exactly what they could open
 *     without vmrun; when QEMU runs as root there is nobody to open it
 *     for, and it is refused.
 * Nothing is ever chowned. The fd is checked to be a regular file (or a
 * block device, for disks) before it is used.
 *
 * Run by an ordinary user, vmrun opens with that user's own rights. */
#ifndef VMRUN_PRIV_FILES_H
#define VMRUN_PRIV_FILES_H

#include <stdbool.h>
#include <sys/stat.h>

#include "base/error.h"
#include "priv/priv_drop.h"

enum {
    PRIV_FILE_REGULAR = 1 << 0,
    PRIV_FILE_BLOCK = 1 << 1, /* a disk may be a block device */
};

/* Open path (absolute) with access (O_RDONLY, O_RDWR, O_WRONLY) for QEMU
 * running as t (NULL: as vmrun itself). kinds: PRIV_FILE_* accepted.
 * qemu_reopens: QEMU will open /proc/self/fd/N itself (kernel, initrd,
 * ROM), so its user must also have read permission on the file: checked.
 * what names the profile key in messages. Returns the fd (O_CLOEXEC,
 * blocking) or a negative errno with err set. */
int priv_open_for_qemu(const struct priv_target *t, const char *what, const char *path, int access,
                       unsigned kinds, bool qemu_reopens, struct vmrun_error *err);

/* Would t's uid, gid and groups be granted want (4 read, 2 write, 1
 * search) on st by the classic permission bits? */
bool priv_target_may(const struct priv_target *t, const struct stat *st, int want);

#endif
