/* The TPM's persistent state directory (tpm.h). Everything goes through
 * file descriptors opened without following symlinks: the directory is
 * QEMU's user's, so what is inside it is never trusted, and the directory
 * itself is only ever looked at through the fd vmrun opened. */
#include "host/tpm/tpm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/text.h"

int tpm_state_path(char *buf, size_t len, const char *vm_state_dir)
{
    int n = snprintf(buf, len, "%s/%s", vm_state_dir, TPM_STATE_DIR_NAME);
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Check the directory open at fd (named path) for uid. */
static int check_fd(int fd, const char *path, uid_t uid, struct vmrun_error *err)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return vmrun_fail(err, errno, "stat %s", path);
    char owner[64], want[64];
    if (st.st_uid != uid) {
        text_user(st.st_uid, owner, sizeof(owner));
        text_user(uid, want, sizeof(want));
        return vmrun_failx(err, EPERM,
                           "the TPM state %s belongs to %s, but QEMU runs as %s: to move this "
                           "VM's TPM to %s, run 'chown -R %u: %s'; to start over with a new, "
                           "empty TPM, remove the directory (what the guest sealed in the old "
                           "one, such as BitLocker keys, is then lost)",
                           path, owner, want, want, (unsigned)uid, path);
    }
    if ((st.st_mode & 077) != 0)
        return vmrun_failx(err, EPERM,
                           "the TPM state %s has mode %04o, but it must be private to %s: run "
                           "'chmod 0700 %s'",
                           path, (unsigned)(st.st_mode & 07777), text_user(uid, want, sizeof(want)),
                           path);
    return 0;
}

/* Open <vm_state_dir>/tpm as a directory, never through a symlink. */
static int open_state(int dfd, const char *path, struct vmrun_error *err)
{
    int fd = openat(dfd, TPM_STATE_DIR_NAME, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0)
        return fd;
    if (errno == ENOENT)
        return -ENOENT;
    if (errno == ENOTDIR || errno == ELOOP)
        return vmrun_failx(err, EPERM,
                           "%s is not a directory (vmrun keeps the VM's TPM state there): "
                           "remove it",
                           path);
    return vmrun_fail(err, errno, "open %s", path);
}

int tpm_state_check(const char *vm_state_dir, uid_t uid, struct vmrun_error *err)
{
    char path[PATH_MAX];
    if (tpm_state_path(path, sizeof(path), vm_state_dir) < 0)
        return vmrun_failx(err, ENAMETOOLONG, "%s: the path is too long", vm_state_dir);
    cleanup_close int dfd = open(vm_state_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0) {
        if (errno == ENOENT)
            return -ENOENT; /* the VM never ran: all of it is made at the first start */
        return vmrun_fail(err, errno, "open %s", vm_state_dir);
    }
    cleanup_close int fd = open_state(dfd, path, err);
    if (fd < 0)
        return fd;
    return check_fd(fd, path, uid, err);
}

int tpm_state_prepare(const char *vm_state_dir, uid_t uid, gid_t gid, char *path, size_t len,
                      struct vmrun_error *err)
{
    if (tpm_state_path(path, len, vm_state_dir) < 0)
        return vmrun_failx(err, ENAMETOOLONG, "%s: the path is too long", vm_state_dir);
    cleanup_close int dfd = open(vm_state_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0)
        return vmrun_fail(err, errno, "open %s", vm_state_dir);
    if (mkdirat(dfd, TPM_STATE_DIR_NAME, 0700) == 0) {
        /* New: hand it to QEMU's user through the fd just made (the
         * directory above is root's, nobody else can swap it meanwhile). */
        cleanup_close int fd = open_state(dfd, path, err);
        if (fd == -ENOENT)
            return vmrun_failx(err, ENOENT, "%s vanished while it was being made", path);
        if (fd < 0)
            return fd;
        if (fchown(fd, uid, gid) < 0 || fchmod(fd, 0700) < 0) {
            int e = errno;
            unlinkat(dfd, TPM_STATE_DIR_NAME, AT_REMOVEDIR);
            return vmrun_fail(err, e, "give the TPM state %s to uid %u", path, (unsigned)uid);
        }
    } else if (errno != EEXIST) {
        return vmrun_fail(err, errno, "create the TPM state %s", path);
    }
    cleanup_close int fd = open_state(dfd, path, err);
    if (fd == -ENOENT)
        return vmrun_failx(err, ENOENT, "%s vanished while it was being made", path);
    if (fd < 0)
        return fd;
    return check_fd(fd, path, uid, err);
}
