/* The file descriptors QEMU inherits.
 *
 * QEMU never opens a path with someone else's rights: vmrun opens what QEMU
 * must use (with the credentials the path deserves) and hands QEMU the open
 * file, the way libvirt's qemu_fd.c does. The argv then names the fd, not a
 * path: `-chardev socket,fd=N`, `-add-fd fd=N,set=S` + `/dev/fdset/S`,
 * `-netdev tap,fd=N`.
 *
 * A qemu_fds list owns the fds added to it and gives each a fixed number in
 * QEMU, from QEMU_FDS_FIRST upwards in the order they were added, so the
 * argv can be built (a pure function) before QEMU is forked. In the forked
 * child qemu_fds_install() puts each fd at its number without
 * close-on-exec; every other fd vmrun holds is O_CLOEXEC, so QEMU starts
 * with exactly stdin, stdout, stderr and these. */
#ifndef VMRUN_QEMU_FDS_H
#define VMRUN_QEMU_FDS_H

#include <stddef.h>
#include <stdio.h>

#include "base/error.h"

#define QEMU_FDS_FIRST 3
#define QEMU_FDS_MAX 64

/* The QMP connection is always the first fd QEMU inherits. */
#define QEMU_FD_QMP QEMU_FDS_FIRST

struct qemu_fd {
    int fd;         /* vmrun's fd (owned); -1 in a list that only describes */
    int target;     /* its number in QEMU */
    char what[160]; /* for print-cmd and messages: "QMP", "disk 0: /var/lib/..." */
};

struct qemu_fds {
    struct qemu_fd items[QEMU_FDS_MAX];
    size_t n;
};

void qemu_fds_init(struct qemu_fds *f);

/* Add fd (taken over: closed by qemu_fds_close, also when this fails) and
 * return its number in QEMU, or -EMFILE when the list is full. fd may be -1
 * to describe an fd without holding one (print-cmd). */
int qemu_fds_add(struct qemu_fds *f, int fd, const char *what);

/* Make fd, the file at path, O_DIRECT (a disk whose cache mode bypasses the
 * page cache: qemu/cmdline.h). what ("disks[0]") and path name it in the
 * message: a file system without direct I/O is refused with what to
 * change. 0 or -errno. */
int qemu_fds_set_direct(int fd, const char *what, const char *path, struct vmrun_error *err);

/* Close every fd held. */
void qemu_fds_close(struct qemu_fds *f);

/* In the forked child, before exec: move every fd to its number, without
 * close-on-exec. Async-signal-safe (no allocation). 0 or a negative errno. */
int qemu_fds_install(const struct qemu_fds *f);

/* "# fd 3: QMP ..." one line each, for print-cmd. */
void qemu_fds_print(FILE *out, const struct qemu_fds *f);

#endif
