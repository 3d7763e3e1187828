/* The fds QEMU inherits (qemu_fds.h). */
#include "qemu/qemu_fds.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

void qemu_fds_init(struct qemu_fds *f)
{
    f->n = 0;
}

int qemu_fds_add(struct qemu_fds *f, int fd, const char *what)
{
    if (f->n == QEMU_FDS_MAX) {
        if (fd >= 0)
            close(fd);
        return -EMFILE;
    }
    struct qemu_fd *q = &f->items[f->n];
    q->fd = fd;
    q->target = QEMU_FDS_FIRST + (int)f->n;
    snprintf(q->what, sizeof(q->what), "%s", what != NULL ? what : "");
    f->n++;
    return q->target;
}

int qemu_fds_set_direct(int fd, const char *what, const char *path, struct vmrun_error *err)
{
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0)
        return vmrun_fail(err, errno, "%s: %s", what, path);
    if (fcntl(fd, F_SETFL, flags | O_DIRECT) == 0)
        return 0;
    if (errno == EINVAL)
        return vmrun_failx(err, EINVAL,
                           "%s: %s: its cache mode bypasses the page cache (O_DIRECT), which "
                           "the file system it is on does not support: give it cache "
                           "\"writeback\" or \"writethrough\", or move it to another file system",
                           what, path);
    return vmrun_fail(err, errno, "%s: %s: set O_DIRECT", what, path);
}

void qemu_fds_close(struct qemu_fds *f)
{
    for (size_t i = 0; i < f->n; i++) {
        if (f->items[i].fd >= 0)
            close(f->items[i].fd);
        f->items[i].fd = -1;
    }
    f->n = 0;
}

int qemu_fds_install(const struct qemu_fds *f)
{
    /* First lift every source above all the targets, so that no dup2 below
     * overwrites a source that is still to be moved. */
    int lifted[QEMU_FDS_MAX];
    int above = QEMU_FDS_FIRST + (int)f->n;
    for (size_t i = 0; i < f->n; i++) {
        if (f->items[i].fd < 0)
            return -EBADF;
        lifted[i] = fcntl(f->items[i].fd, F_DUPFD_CLOEXEC, above);
        if (lifted[i] < 0)
            return -errno;
    }
    /* dup2 clears close-on-exec on the new fd; the lifted copies keep it
     * and vanish at exec. */
    for (size_t i = 0; i < f->n; i++)
        if (dup2(lifted[i], f->items[i].target) < 0)
            return -errno;
    return 0;
}

void qemu_fds_print(FILE *out, const struct qemu_fds *f)
{
    for (size_t i = 0; i < f->n; i++)
        fprintf(out, "# fd %d: %s\n", f->items[i].target, f->items[i].what);
}
