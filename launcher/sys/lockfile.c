/* vmrun's machine-wide locks (lockfile.h). */
#include "sys/lockfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"

int lockfile_take(const char *path, int wait_s, void (*waiting)(void *opaque), void *opaque,
                  struct vmrun_error *err)
{
    cleanup_close int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return vmrun_fail(err, errno, "open %s", path);
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    bool told = false;
    int r;
    while ((r = flock(fd, LOCK_EX | LOCK_NB)) < 0 && (errno == EWOULDBLOCK || errno == EINTR)) {
        if (!told && waiting != NULL)
            waiting(opaque);
        told = true;
        clock_gettime(CLOCK_MONOTONIC, &t);
        if (t.tv_sec - t0.tv_sec >= wait_s) {
            char holder[32] = "";
            ssize_t n = pread(fd, holder, sizeof(holder) - 1, 0);
            holder[n > 0 ? n : 0] = '\0';
            holder[strcspn(holder, "\n")] = '\0';
            return vmrun_failx(err, ETIMEDOUT,
                               "the lock %s has been held for %d s (by pid %s); vmrun gives up "
                               "waiting for it",
                               path, wait_s, holder[0] ? holder : "?");
        }
        usleep(50000);
    }
    if (r < 0)
        return vmrun_fail(err, errno, "lock %s", path);
    /* Who holds it, for the message of whoever waits too long. */
    char me[32];
    int len = snprintf(me, sizeof(me), "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) < 0 || pwrite(fd, me, (size_t)len, 0) < 0) {
        /* only a message would lack the pid */
    }
    return steal_fd(&fd);
}
