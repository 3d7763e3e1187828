/* The VM's user directory (user_dir.h). */
#include "priv/user_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "journal/opargs.h"
#include "sys/dirs.h"
#include "sys/hostpath.h"

#define OP_USER_DIR "user-dir"

int user_dir_prepare(struct host_prep *hp, uid_t uid, gid_t gid, struct vmrun_error *err)
{
    const char *name = hp->profile->name;
    char parent[PATH_MAX], dir[PATH_MAX];
    if (host_path(parent, sizeof(parent), HOST_RUN, "/" VM_USER_DIR) < 0 ||
        user_dir_path(dir, sizeof(dir), host_root(HOST_RUN), name) < 0)
        return vmrun_failx(err, ENAMETOOLONG, "the run directory's path is too long");
    int r = dir_make(parent, 0711, err);
    if (r < 0)
        return r;
    cleanup_close int pfd = open(parent, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (pfd < 0)
        return vmrun_fail(err, errno, "open %s", parent);
    cJSON *args = cJSON_CreateObject();
    if (args == NULL)
        return vmrun_fail(err, ENOMEM, "journal");
    cJSON_AddStringToObject(args, "path", dir);
    if ((r = journal_record(hp->journal, OP_USER_DIR, args, err)) < 0)
        return r;
    /* What a crash left is not this run's: gone first. */
    cleanup_close int old = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (old >= 0) {
        dir_remove_tree(steal_fd(&old));
        unlinkat(pfd, name, AT_REMOVEDIR);
    } else {
        unlinkat(pfd, name, 0); /* a file or a link: not vmrun's either */
    }
    if (mkdirat(pfd, name, 0700) < 0)
        return vmrun_fail(err, errno, "create %s", dir);
    cleanup_close int fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return vmrun_fail(err, errno, "open %s", dir);
    if (fchown(fd, uid, gid) < 0 || fchmod(fd, 0700) < 0)
        return vmrun_fail(err, errno, "give %s to uid %u", dir, (unsigned)uid);
    host_prep_say(hp, "made %s for QEMU's user (uid %u) alone", dir, (unsigned)uid);
    return journal_done(hp->journal, err);
}

int user_dir_undo(const cJSON *args, struct vmrun_error *err)
{
    const char *path = oparg_string(args, "path");
    const char *slash = path != NULL ? strrchr(path, '/') : NULL;
    if (path == NULL || path[0] != '/' || slash == NULL || slash[1] == '\0' ||
        strstr(path, "/" VM_USER_DIR "/") == NULL || strstr(path, "/../") != NULL ||
        strcmp(slash + 1, "..") == 0 || strcmp(slash + 1, ".") == 0)
        return vmrun_failx(err, EINVAL, "malformed %s record", OP_USER_DIR);
    /* The parent is root's (0711): the name in it is the one made. */
    char parent[PATH_MAX];
    snprintf(parent, sizeof(parent), "%.*s", (int)(slash - path), path);
    cleanup_close int pfd = open(parent, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (pfd < 0)
        return errno == ENOENT ? 0 : vmrun_fail(err, errno, "open %s", parent);
    struct stat st;
    if (fstat(pfd, &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 022) != 0)
        return vmrun_failx(err, EPERM, "%s is not vmrun's directory", parent);
    int fd = openat(pfd, slash + 1, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : vmrun_fail(err, errno, "open %s", path);
    dir_remove_tree(fd);
    if (unlinkat(pfd, slash + 1, AT_REMOVEDIR) < 0 && errno != ENOENT)
        return vmrun_fail(err, errno, "remove %s", path);
    return 0;
}

void user_dir_describe(const cJSON *args, char *buf, size_t len)
{
    const char *path = oparg_string(args, "path");
    snprintf(buf, len, "remove %s", path != NULL ? path : "(malformed record)");
}
