#include "host/pci/pci_sysfs.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "sys/hostpath.h"
#include "sys/timed_write.h"

int pci_sysfs_attr_path(char *buf, size_t len, const char *address, const char *attr)
{
    return host_path(buf, len, HOST_SYS, "/bus/pci/devices/%s/%s", address, attr);
}

int pci_sysfs_write_timeout_ms(void)
{
    return timed_write_limit_ms();
}

int pci_sysfs_write(const char *path, const char *value, pid_t *stuck, struct vmrun_error *err)
{
    return timed_write(path, value, 0, stuck, err);
}

int pci_sysfs_read(const char *path, char *buf, size_t len)
{
    if (len == 0)
        return -EINVAL;
    buf[0] = '\0';
    cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t got = 0;
    while (got + 1 < len) {
        ssize_t n = read(fd, buf + got, len - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            buf[0] = '\0';
            return -errno;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    buf[got] = '\0';
    while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == ' '))
        buf[--got] = '\0';
    return 0;
}

int pci_sysfs_link_name(const char *path, char *buf, size_t len)
{
    char target[PATH_MAX];
    if (len == 0)
        return -EINVAL;
    buf[0] = '\0';
    ssize_t n = readlink(path, target, sizeof(target) - 1);
    if (n < 0)
        return -errno;
    target[n] = '\0';
    const char *slash = strrchr(target, '/');
    const char *name = slash != NULL ? slash + 1 : target;
    if (strlen(name) >= len)
        return -ENAMETOOLONG;
    strcpy(buf, name);
    return 0;
}

bool pci_sysfs_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}
