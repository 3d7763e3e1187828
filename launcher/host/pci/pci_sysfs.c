#include "host/pci/pci_sysfs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "sys/seams.h"

int pci_sysfs_write_timeout_ms(void)
{
    const char *v = seam_value(SEAM_SYSFS_TIMEOUT_MS);
    if (v != NULL) {
        char *end;
        long ms = strtol(v, &end, 10);
        if (*end == '\0' && ms > 0 && ms <= INT_MAX)
            return (int)ms;
    }
    return PCI_SYSFS_WRITE_TIMEOUT_MS;
}

/* The child: only async-signal-safe calls; the exit status is the errno. */
static void __attribute__((noreturn)) write_child(const char *path, const char *value, size_t len)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        _exit(errno > 0 && errno < 256 ? errno : EIO);
    ssize_t n;
    do
        n = write(fd, value, len);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        _exit(errno > 0 && errno < 256 ? errno : EIO);
    if ((size_t)n != len)
        _exit(EIO);
    if (close(fd) < 0 && errno != EINTR)
        _exit(errno > 0 && errno < 256 ? errno : EIO);
    _exit(0);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "vfio-pci\n" reads better as "vfio-pci" in messages. */
static const char *shown(const char *value, char *buf, size_t len)
{
    if (strcmp(value, "\n") == 0)
        return "an empty line";
    size_t n = strcspn(value, "\n");
    if (n >= len)
        n = len - 1;
    memcpy(buf, value, n);
    buf[n] = '\0';
    return buf;
}

int pci_sysfs_write(const char *path, const char *value, pid_t *stuck, struct vmrun_error *err)
{
    char vbuf[128];
    size_t len = strlen(value);
    if (stuck != NULL)
        *stuck = 0;

    pid_t pid = fork();
    if (pid < 0)
        return vmrun_fail(err, errno, "write %s to %s: fork", shown(value, vbuf, sizeof(vbuf)),
                          path);
    if (pid == 0)
        write_child(path, value, len);

    int timeout = pci_sysfs_write_timeout_ms();
    long long deadline = now_ms() + timeout;
    /* Poll with a short sleep: a write normally takes well under a
     * millisecond, so the first checks come quickly, then back off. */
    long sleep_us = 200;
    for (;;) {
        int status;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return vmrun_fail(err, errno, "write %s to %s: waitpid",
                              shown(value, vbuf, sizeof(vbuf)), path);
        if (r == pid) {
            if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;
            int e = WIFEXITED(status) ? WEXITSTATUS(status) : EIO;
            return vmrun_fail(err, e, "write %s to %s", shown(value, vbuf, sizeof(vbuf)), path);
        }
        if (now_ms() >= deadline)
            break;
        struct timespec ts = {0, sleep_us * 1000};
        nanosleep(&ts, NULL);
        if (sleep_us < 20000)
            sleep_us *= 2;
    }

    /* The write is stuck in the kernel (an unbind waits for every user of
     * the device to let go). A process in that state cannot be killed; the
     * SIGKILL takes effect when the write returns. It is not waited for. */
    kill(pid, SIGKILL);
    if (stuck != NULL)
        *stuck = pid;
    return vmrun_failx(err, ETIMEDOUT,
                       "writing %s to %s did not finish within %d ms; the kernel is still "
                       "working on it in process %d, which cannot be killed until the write "
                       "returns",
                       shown(value, vbuf, sizeof(vbuf)), path, timeout, (int)pid);
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
