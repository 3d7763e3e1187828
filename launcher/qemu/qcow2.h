/* The one thing vmrun reads in a qcow2 image: the name of its backing file.
 *
 * QEMU opens a qcow2 image's backing file itself, by the name stored in the
 * image, as QEMU's user. A relative name is taken relative to the image's
 * own file name, and the image reaches QEMU as /dev/fdset/N (qemu/cmdline.h):
 * QEMU would look for "/dev/fdset/base.qcow2" and fail with a message about
 * that path. vmrun finds such an image before QEMU starts and says what to
 * do instead. */
#ifndef VMRUN_QCOW2_H
#define VMRUN_QCOW2_H

#include <stddef.h>

/* The backing file name of the qcow2 image open on fd, read with pread
 * (the file offset is left alone). 1 with the name in buf; 0 when the image
 * has none or fd is not a qcow2 image; a negative errno when it cannot be
 * read, -EINVAL for a header that does not hold together. */
int qcow2_backing_file(int fd, char *buf, size_t len);

/* The sentence for a relative backing name: what it is and the
 * qemu-img command that makes it absolute. */
void qcow2_relative_backing_message(char *buf, size_t len, const char *image, const char *backing);

#endif
