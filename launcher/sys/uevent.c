/* Kernel uevents over netlink (uevent.h). */
#include "sys/uevent.h"

#include <errno.h>
#include <linux/netlink.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/cleanup.h"

/* The kernel's multicast group; udevd re-sends its processed events on
 * group 2 (UDEV_MONITOR_UDEV), which vmrun does not join. */
#define UEVENT_GROUP_KERNEL 1U

static bool parse_decimal(const char *s, unsigned long long max, unsigned long long *out)
{
    if (*s == '\0')
        return false;
    unsigned long long v = 0;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return false;
        unsigned digit = (unsigned)(*s - '0');
        if (v > (max - digit) / 10)
            return false;
        v = v * 10 + digit;
    }
    *out = v;
    return true;
}

const char *uevent_get(const struct uevent *ev, const char *key)
{
    for (size_t i = 0; i < ev->nvars; i++)
        if (strcmp(ev->key[i], key) == 0)
            return ev->value[i];
    return NULL;
}

/* MAJOR and MINOR, when present, must be numbers a device number holds. */
static int device_number(const struct uevent *ev, const char *key, int *out)
{
    const char *v = uevent_get(ev, key);
    *out = -1;
    if (v == NULL)
        return 0;
    unsigned long long n;
    if (!parse_decimal(v, (1U << 20) - 1, &n))
        return -EINVAL;
    *out = (int)n;
    return 0;
}

int uevent_parse(const void *msg, size_t len, struct uevent *out)
{
    memset(out, 0, offsetof(struct uevent, buf));
    out->major = out->minor = -1;
    if (len == 0 || len >= sizeof(out->buf))
        return -EINVAL;
    memcpy(out->buf, msg, len);
    out->buf[len] = '\0';

    /* The header: "ACTION@DEVPATH". */
    char *header = out->buf;
    size_t header_len = strlen(header);
    char *at = strchr(header, '@');
    if (at == NULL || at == header || at[1] != '/')
        return -EINVAL;
    *at = '\0';
    const char *h_action = header, *h_devpath = at + 1;

    char *p = out->buf + header_len + 1;
    char *end = out->buf + len;
    while (p < end) {
        size_t n = strlen(p);
        if (n == 0) {
            /* Only the terminating NUL(s) of the message may be empty. */
            for (; p < end; p++)
                if (*p != '\0')
                    return -EINVAL;
            break;
        }
        char *eq = strchr(p, '=');
        if (eq == NULL || eq == p || out->nvars == UEVENT_MAX_VARS)
            return -EINVAL;
        *eq = '\0';
        out->key[out->nvars] = p;
        out->value[out->nvars] = eq + 1;
        out->nvars++;
        p += n + 1;
    }

    out->action = uevent_get(out, "ACTION");
    out->devpath = uevent_get(out, "DEVPATH");
    if (out->action == NULL || out->devpath == NULL || strcmp(out->action, h_action) != 0 ||
        strcmp(out->devpath, h_devpath) != 0)
        return -EINVAL;
    out->subsystem = uevent_get(out, "SUBSYSTEM");
    out->devname = uevent_get(out, "DEVNAME");
    out->devtype = uevent_get(out, "DEVTYPE");
    if (device_number(out, "MAJOR", &out->major) < 0 ||
        device_number(out, "MINOR", &out->minor) < 0)
        return -EINVAL;
    const char *seq = uevent_get(out, "SEQNUM");
    if (seq != NULL && !parse_decimal(seq, UINT64_MAX, &out->seqnum))
        return -EINVAL;
    return 0;
}

int uevent_open(struct vmrun_error *err)
{
    cleanup_close int fd =
        socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_KOBJECT_UEVENT);
    if (fd < 0)
        return vmrun_fail(err, errno, "cannot listen for device events (netlink uevent socket)");
    int on = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) < 0)
        return vmrun_fail(err, errno, "cannot ask for the sender of device events (SO_PASSCRED)");
    /* Events come in bursts (a hub with its devices, a receiver with its
     * event nodes): a large buffer makes an overflow, and the rescan it
     * forces, rare. Only root may go beyond rmem_max; anyone else keeps the
     * default, which still works. */
    int size = 4 * 1024 * 1024;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    struct sockaddr_nl addr = {.nl_family = AF_NETLINK, .nl_groups = UEVENT_GROUP_KERNEL};
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
        return vmrun_fail(err, errno, "cannot listen for device events (netlink bind)");
    return steal_fd(&fd);
}

int uevent_read(int fd, struct uevent *out, struct vmrun_error *err)
{
    char msg[UEVENT_BUFFER_SIZE];
    struct sockaddr_nl from;
    struct iovec iov = {.iov_base = msg, .iov_len = sizeof(msg)};
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(struct ucred))];
    } control;
    struct msghdr mh = {.msg_name = &from,
                        .msg_namelen = sizeof(from),
                        .msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = control.buf,
                        .msg_controllen = sizeof(control.buf)};
    ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR)
            return 0;
        if (errno == ENOBUFS)
            return -ENOBUFS;
        return vmrun_fail(err, errno, "reading device events");
    }
    if ((mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0 || mh.msg_namelen != sizeof(from) ||
        from.nl_family != AF_NETLINK || from.nl_pid != 0)
        return 0;
    const struct ucred *cred = NULL;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS &&
            c->cmsg_len == CMSG_LEN(sizeof(struct ucred)))
            cred = (const struct ucred *)(const void *)CMSG_DATA(c);
    if (cred == NULL || cred->uid != 0)
        return 0;
    if (uevent_parse(msg, (size_t)n, out) < 0)
        return 0;
    return 1;
}
