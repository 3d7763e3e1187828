/* Writing a kernel attribute with a time limit (timed_write.h). */
#include "sys/timed_write.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "sys/seams.h"

int timed_write_limit_ms(void)
{
    const char *v = seam_value(SEAM_SYSFS_TIMEOUT_MS);
    if (v != NULL) {
        char *end;
        long ms = strtol(v, &end, 10);
        if (*end == '\0' && ms > 0 && ms <= INT_MAX)
            return (int)ms;
    }
    return TIMED_WRITE_DEFAULT_MS;
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

/* Wait for the child until the deadline. 1: it ended (*status filled);
 * 0: time is up; < 0: waitpid failed. */
static int wait_child(pid_t pid, long long deadline, int *status)
{
    /* Poll with a short sleep: a write normally takes well under a
     * millisecond, so the first checks come quickly, then back off. */
    long sleep_us = 200;
    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == pid)
            return 1;
        if (now_ms() >= deadline)
            return 0;
        struct timespec ts = {0, sleep_us * 1000};
        nanosleep(&ts, NULL);
        if (sleep_us < 20000)
            sleep_us *= 2;
    }
}

int timed_write(const char *path, const char *value, int timeout_ms, pid_t *stuck,
                struct vmrun_error *err)
{
    char vbuf[128];
    size_t len = strlen(value);
    if (stuck != NULL)
        *stuck = 0;
    if (timeout_ms <= 0)
        timeout_ms = timed_write_limit_ms();

    pid_t pid = fork();
    if (pid < 0)
        return vmrun_fail(err, errno, "write %s to %s: fork", shown(value, vbuf, sizeof(vbuf)),
                          path);
    if (pid == 0)
        write_child(path, value, len);

    int status = 0;
    int r = wait_child(pid, now_ms() + timeout_ms, &status);
    if (r < 0)
        return vmrun_fail(err, -r, "write %s to %s: waitpid", shown(value, vbuf, sizeof(vbuf)),
                          path);
    if (r == 1) {
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
            return 0;
        int e = WIFEXITED(status) ? WEXITSTATUS(status) : EIO;
        return vmrun_fail(err, e, "write %s to %s", shown(value, vbuf, sizeof(vbuf)), path);
    }

    /* The write is stuck in the kernel. A process in that state cannot be
     * killed; the SIGKILL takes effect when the write returns. It is not
     * waited for. */
    kill(pid, SIGKILL);
    if (stuck != NULL)
        *stuck = pid;
    return vmrun_failx(err, ETIMEDOUT,
                       "writing %s to %s did not finish within %d ms; the kernel is still "
                       "working on it in process %d, which cannot be killed until the write "
                       "returns",
                       shown(value, vbuf, sizeof(vbuf)), path, timeout_ms, (int)pid);
}

/* The reading child: the file's bytes into the pipe; exit status errno. */
static void __attribute__((noreturn)) read_child(const char *path, size_t len, int out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        _exit(errno > 0 && errno < 256 ? errno : EIO);
    char buf[65536];
    size_t done = 0;
    while (done < len) {
        size_t want = len - done < sizeof(buf) ? len - done : sizeof(buf);
        ssize_t n = pread(fd, buf, want, (off_t)done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            _exit(errno > 0 && errno < 256 ? errno : EIO);
        if (n == 0)
            break;
        for (ssize_t w = 0; w < n;) {
            ssize_t m = write(out, buf + w, (size_t)(n - w));
            if (m < 0 && errno == EINTR)
                continue;
            if (m < 0)
                _exit(EPIPE);
            w += m;
        }
        done += (size_t)n;
    }
    _exit(0);
}

ssize_t timed_read(const char *path, void *buf, size_t len, int timeout_ms,
                   struct vmrun_error *err)
{
    if (timeout_ms <= 0)
        timeout_ms = timed_write_limit_ms();
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return vmrun_fail(err, errno, "read %s: pipe", path);
    cleanup_close int in = p[0];
    pid_t pid = fork();
    if (pid < 0) {
        close(p[1]);
        return vmrun_fail(err, errno, "read %s: fork", path);
    }
    if (pid == 0) {
        close(p[0]);
        read_child(path, len, p[1]);
    }
    close(p[1]);

    long long deadline = now_ms() + timeout_ms;
    size_t got = 0;
    bool eof = false;
    while (!eof) {
        long long left = deadline - now_ms();
        if (left <= 0)
            break;
        struct pollfd pfd = {.fd = in, .events = POLLIN};
        int r = poll(&pfd, 1, (int)(left > INT_MAX ? INT_MAX : left));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            kill(pid, SIGKILL);
            return vmrun_fail(err, errno, "read %s: poll", path);
        }
        if (r == 0)
            break;
        char scratch[65536];
        ssize_t n = read(in, got < len ? (char *)buf + got : scratch,
                         got < len ? len - got : sizeof(scratch));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            eof = true;
        else if (got < len)
            got += (size_t)n;
    }
    int status = 0;
    int w = eof ? wait_child(pid, deadline + 1000, &status) : 0;
    if (w <= 0) {
        kill(pid, SIGKILL);
        return vmrun_failx(err, ETIMEDOUT,
                           "reading %s did not finish within %d ms; the kernel is still working "
                           "on it in process %d",
                           path, timeout_ms, (int)pid);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return vmrun_fail(err, WIFEXITED(status) ? WEXITSTATUS(status) : EIO, "read %s", path);
    return (ssize_t)got;
}
