/* One-value host files (hostfile.h). */
#include "sys/hostfile.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "base/cleanup.h"

/* Magic numbers of the kernel's pseudo file systems (linux/magic.h). */
#define FS_SYSFS_MAGIC 0x62656572
#define FS_PROC_MAGIC 0x9fa0
#define FS_CGROUP_MAGIC 0x27e0eb
#define FS_CGROUP2_MAGIC 0x63677270

int hostfile_read(const char *path, char *buf, size_t len)
{
    if (len == 0)
        return -EINVAL;
    cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t got = 0;
    for (;;) {
        if (got + 1 >= len)
            return -EFBIG;
        ssize_t n = read(fd, buf + got, len - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == ' ' || buf[got - 1] == '\t'))
        got--;
    buf[got] = '\0';
    return 0;
}

int hostfile_read_long(const char *path, long *out)
{
    char buf[64];
    int r = hostfile_read(path, buf, sizeof(buf));
    if (r < 0)
        return r;
    char *end;
    errno = 0;
    long v = strtol(buf, &end, 10);
    if (errno != 0 || end == buf || *end != '\0')
        return -EINVAL;
    *out = v;
    return 0;
}

int hostfile_read_ulong(const char *path, unsigned long *out)
{
    long v;
    int r = hostfile_read_long(path, &v);
    if (r < 0)
        return r;
    if (v < 0)
        return -EINVAL;
    *out = (unsigned long)v;
    return 0;
}

static bool is_pseudo_fs(int fd)
{
    struct statfs s;
    if (fstatfs(fd, &s) < 0)
        return true; /* unknown: do not truncate */
    switch ((unsigned long)s.f_type) {
    case FS_SYSFS_MAGIC:
    case FS_PROC_MAGIC:
    case FS_CGROUP_MAGIC:
    case FS_CGROUP2_MAGIC:
        return true;
    default:
        return false;
    }
}

int hostfile_write(const char *path, const char *value)
{
    cleanup_close int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -errno;
    size_t len = strlen(value);
    ssize_t n;
    do
        n = write(fd, value, len);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    if ((size_t)n != len)
        return -EIO;
    /* A regular file standing in for a kernel file (tests): drop what was
     * left of a longer previous value. */
    if (!is_pseudo_fs(fd) && ftruncate(fd, (off_t)len) < 0)
        return -errno;
    if (close(steal_fd(&fd)) < 0 && errno != EINTR)
        return -errno;
    return 0;
}

int hostfile_write_ulong(const char *path, unsigned long value)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%lu", value);
    return hostfile_write(path, buf);
}

bool hostfile_exists(const char *path)
{
    return access(path, F_OK) == 0;
}

int hostfile_replace(const char *dir, const char *name, const char *content)
{
    char path[PATH_MAX], tmp[PATH_MAX];
    if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path) ||
        snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    cleanup_close int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -errno;
    size_t len = strlen(content);
    if (write(fd, content, len) != (ssize_t)len)
        return errno != 0 ? -errno : -EIO;
    if (rename(tmp, path) < 0)
        return -errno;
    return 0;
}
