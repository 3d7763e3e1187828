/* vmrun's own directories (dirs.h). */
#include "sys/dirs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "sys/hostpath.h"

mode_t dir_root_mode(int root)
{
    if (geteuid() != 0)
        return 0700;
    return root == HOST_STATE ? VMRUN_STATE_DIR_MODE : VMRUN_RUN_DIR_MODE;
}

int dir_make(const char *path, mode_t mode, struct vmrun_error *err)
{
    if (mkdir(path, mode) < 0 && errno != EEXIST)
        return vmrun_fail(err, errno, "create %s", path);
    cleanup_close int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid())
        return vmrun_failx(err, EPERM, "%s is not a directory owned by uid %u", path,
                           (unsigned)geteuid());
    if ((st.st_mode & 07777) != mode && fchmod(fd, mode) < 0)
        return vmrun_fail(err, errno, "chmod %s %04o", path, (unsigned)mode);
    return 0;
}

int dir_make_all(const char *path, mode_t parent_mode, mode_t mode, struct vmrun_error *err)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
        return vmrun_failx(err, ENAMETOOLONG, "%s: the path is too long", path);
    for (char *p = tmp + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, parent_mode) == 0) {
            /* Made here: its mode is ours to set, the umask's is not. */
            if (chmod(tmp, parent_mode) < 0)
                return vmrun_fail(err, errno, "chmod %s", tmp);
        } else if (errno != EEXIST) {
            return vmrun_fail(err, errno, "create %s", tmp);
        }
        *p = '/';
    }
    return dir_make(path, mode, err);
}

static void remove_tree(int dirfd, int depth)
{
    cleanup_closedir DIR *d = fdopendir(dirfd);
    if (d == NULL) {
        close(dirfd);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (unlinkat(dirfd, de->d_name, 0) == 0)
            continue;
        if ((errno == EISDIR || errno == EPERM) && depth < DIR_REMOVE_DEPTH) {
            int sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub >= 0)
                remove_tree(sub, depth + 1);
            unlinkat(dirfd, de->d_name, AT_REMOVEDIR);
        }
    }
}

void dir_remove_tree(int dirfd)
{
    remove_tree(dirfd, 0);
}

void dir_remove(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0)
        dir_remove_tree(fd);
    rmdir(path);
}
