/* The files a profile names, opened for QEMU (priv_files.h). */
#include "priv/priv_files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "priv/user_open.h"
#include "sys/safepath.h"

bool priv_target_may(const struct priv_target *t, const struct stat *st, int want)
{
    if (t->uid == 0)
        return true;
    unsigned bits;
    if (st->st_uid == t->uid) {
        bits = (st->st_mode >> 6) & 7;
    } else {
        bool in = st->st_gid == t->gid;
        for (size_t i = 0; i < t->n_groups && !in; i++)
            in = t->groups[i] == st->st_gid;
        bits = in ? (st->st_mode >> 3) & 7 : st->st_mode & 7;
    }
    return (bits & (unsigned)want) == (unsigned)want;
}

static int check_kind(int fd, const char *what, const char *path, unsigned kinds,
                      struct vmrun_error *err)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return vmrun_fail(err, errno, "%s %s", what, path);
    if (S_ISREG(st.st_mode) && (kinds & PRIV_FILE_REGULAR))
        return 0;
    if (S_ISBLK(st.st_mode) && (kinds & PRIV_FILE_BLOCK))
        return 0;
    return vmrun_failx(err, EINVAL, "%s %s is not a %s", what, path,
                       (kinds & PRIV_FILE_BLOCK) ? "regular file or block device"
                                                 : "regular file");
}

/* The open left O_NONBLOCK on (a FIFO in a file's place must not hang
 * vmrun before the type check): QEMU wants a blocking file. */
static int finish(int fd, const char *what, const char *path, unsigned kinds,
                  struct vmrun_error *err)
{
    int r = check_kind(fd, what, path, kinds, err);
    if (r == 0) {
        int fl = fcntl(fd, F_GETFL);
        if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
            r = vmrun_fail(err, errno, "%s %s", what, path);
    }
    if (r < 0) {
        close(fd);
        return r;
    }
    return fd;
}

int priv_open_for_qemu(const struct priv_target *t, const char *what, const char *path, int access,
                       unsigned kinds, bool qemu_reopens, struct vmrun_error *err)
{
    int flags = access | O_NONBLOCK;
    if (geteuid() != 0) {
        struct user_cred self = {.uid = geteuid(), .gid = getegid()};
        int fd = user_open(&self, path, flags, err);
        if (fd < 0)
            return vmrun_error_prefix(err, "%s", what);
        return finish(fd, what, path, kinds, err);
    }

    cleanup_safe_path struct safe_path sp = {.fd = -1};
    int r = safe_resolve(path, &sp, err);
    if (r < 0)
        return vmrun_error_prefix(err, "%s", what);
    bool as_root = t == NULL || !t->change;
    if (sp.root_controlled) {
        if (!S_ISREG(sp.st.st_mode) && !(S_ISBLK(sp.st.st_mode) && (kinds & PRIV_FILE_BLOCK)))
            return vmrun_failx(err, EINVAL, "%s %s is not a %s", what, path,
                               (kinds & PRIV_FILE_BLOCK) ? "regular file or block device"
                                                         : "regular file");
        if (qemu_reopens && !as_root && !priv_target_may(t, &sp.st, 4))
            return vmrun_failx(err, EACCES,
                               "QEMU runs as %s and cannot read the %s %s (mode %04o, owner uid "
                               "%u); make it readable (e.g. chmod o+r) or set run_as",
                               t->user, what, path, (unsigned)(sp.st.st_mode & 07777),
                               (unsigned)sp.st.st_uid);
        int fd = safe_reopen(&sp, flags);
        if (fd < 0)
            return vmrun_fail(err, -fd, "%s %s", what, path);
        return finish(fd, what, path, kinds, err);
    }
    if (as_root)
        return vmrun_failx(err, EPERM,
                           "%s %s: %s, and QEMU runs as root here, so it is given only files "
                           "on paths root controls: move the file, or set run_as to the user "
                           "it belongs to (it is then opened with that user's rights)",
                           what, path, sp.why);
    struct user_cred c = {
        .uid = t->uid, .gid = t->gid, .groups = t->groups, .n_groups = t->n_groups};
    struct vmrun_error uerr = {0};
    int fd = user_open(&c, path, flags, &uerr);
    if (fd < 0)
        return vmrun_failx(err, -fd,
                           "%s: QEMU runs as %s, and %s cannot be opened with that user's "
                           "rights (%s); vmrun opens files outside root's control only as the "
                           "user they are for",
                           what, t->user, path, uerr.msg);
    return finish(fd, what, path, kinds, err);
}
