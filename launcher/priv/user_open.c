/* Opening as the user (user_open.h). */
#include "priv/user_open.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "priv/priv_drop.h"

static int open_no_magic(const char *path, int flags)
{
    /* openat2 refuses O_NOCTTY next to O_PATH. */
    int extra = (flags & O_PATH) ? O_CLOEXEC : O_CLOEXEC | O_NOCTTY;
    struct open_how how = {
        .flags = (unsigned long long)(flags | extra),
        .resolve = RESOLVE_NO_MAGICLINKS,
    };
    long fd = syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
    return fd < 0 ? -errno : (int)fd;
}

static int send_fd(int sock, int fd, int result)
{
    struct iovec iov = {.iov_base = &result, .iov_len = sizeof(result)};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    if (fd >= 0) {
        msg.msg_control = u.buf;
        msg.msg_controllen = sizeof(u.buf);
        struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &fd, sizeof(int));
    }
    return sendmsg(sock, &msg, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

/* The child: become the user for the file system, prove it, open. */
static void child(int sock, const struct user_cred *c, const char *path, int flags)
{
    int r = 0;
    if (setgroups(c->n_groups, c->groups) < 0)
        r = -errno;
    /* setfsgid/setfsuid return the previous value and cannot report an
     * error: ask again with -1, which only reads, to know it took. */
    if (r == 0) {
        setfsgid(c->gid);
        if ((gid_t)setfsgid((gid_t)-1) != c->gid)
            r = -EPERM;
    }
    if (r == 0) {
        setfsuid(c->uid);
        if ((uid_t)setfsuid((uid_t)-1) != c->uid)
            r = -EPERM;
    }
    int fd = -1;
    if (r == 0) {
        fd = open_no_magic(path, flags);
        if (fd < 0)
            r = fd;
    }
    send_fd(sock, fd, r);
    _exit(0);
}

int user_open(const struct user_cred *c, const char *path, int flags, struct vmrun_error *err)
{
    if (geteuid() != 0 || c->uid == 0) {
        /* Nobody to open for but ourselves. */
        int fd = open_no_magic(path, flags);
        if (fd < 0)
            return vmrun_fail(err, -fd, "%s", path);
        return fd;
    }
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return vmrun_fail(err, errno, "socketpair");
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(sv[0]);
        close(sv[1]);
        return vmrun_fail(err, e, "fork");
    }
    if (pid == 0) {
        close(sv[0]);
        child(sv[1], c, path, flags);
    }
    close(sv[1]);
    cleanup_close int sock = sv[0];

    int result = -EIO;
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct iovec iov = {.iov_base = &result, .iov_len = sizeof(result)};
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
    ssize_t n;
    do
        n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    int fd = -1;
    for (struct cmsghdr *cm = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL; cm != NULL;
         cm = CMSG_NXTHDR(&msg, cm))
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
            cm->cmsg_len == CMSG_LEN(sizeof(int)))
            memcpy(&fd, CMSG_DATA(cm), sizeof(int));
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
    if (n != (ssize_t)sizeof(result) || (result == 0 && fd < 0)) {
        if (fd >= 0)
            close(fd);
        return vmrun_failx(err, EIO, "opening %s as uid %u: no answer from the opening process",
                           path, (unsigned)c->uid);
    }
    if (result < 0) {
        if (fd >= 0)
            close(fd);
        return vmrun_fail(err, -result, "%s (opened as uid %u)", path, (unsigned)c->uid);
    }
    return fd;
}

int user_cred_of(uid_t uid, gid_t gid, struct user_cred_store *s)
{
    s->cred.uid = uid;
    s->cred.gid = gid;
    s->cred.groups = s->groups;
    s->groups[0] = gid;
    s->cred.n_groups = 1;
    struct passwd *pw = getpwuid(uid);
    int n = (int)(sizeof(s->groups) / sizeof(s->groups[0]));
    if (pw != NULL && getgrouplist(pw->pw_name, gid, s->groups, &n) >= 0)
        s->cred.n_groups = (size_t)n;
    return 0;
}

int priv_open_as_caller(const char *path, int flags, struct vmrun_error *err)
{
    uid_t uid;
    gid_t gid;
    if (priv_invoking_user(&uid, &gid) == 0) {
        struct user_cred_store cred;
        user_cred_of(uid, gid, &cred);
        return user_open(&cred.cred, path, flags, err);
    }
    int fd = open(path, flags | O_CLOEXEC | O_NOCTTY);
    return fd >= 0 ? fd : vmrun_fail(err, errno, "%s", path);
}
