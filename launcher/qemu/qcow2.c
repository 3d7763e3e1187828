/* The backing file name of a qcow2 image (qcow2.h), from its header as
 * QEMU's docs/interop/qcow2.txt lays it out (big-endian):
 *   0  magic "QFI\xfb"         8  backing_file_offset (u64)
 *   4  version (2 or 3)       16  backing_file_size (u32, at most 1023) */
#include "qemu/qcow2.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define QCOW2_MAGIC 0x514649fbu
#define QCOW2_BACKING_MAX 1023

static uint64_t be(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

int qcow2_backing_file(int fd, char *buf, size_t len)
{
    unsigned char h[20];
    ssize_t n = pread(fd, h, sizeof(h), 0);
    if (n < 0)
        return -errno;
    if (n < (ssize_t)sizeof(h) || be(h, 4) != QCOW2_MAGIC)
        return 0;
    uint64_t off = be(h + 8, 8);
    uint64_t size = be(h + 16, 4);
    if (off == 0 || size == 0)
        return 0;
    if (size > QCOW2_BACKING_MAX || size >= len || off > (uint64_t)INT64_MAX - size)
        return -EINVAL;
    n = pread(fd, buf, (size_t)size, (off_t)off);
    if (n < 0)
        return -errno;
    if ((uint64_t)n != size || memchr(buf, '\0', (size_t)size) != NULL)
        return -EINVAL;
    buf[size] = '\0';
    return 1;
}

void qcow2_relative_backing_message(char *buf, size_t len, const char *image, const char *backing)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", image);
    snprintf(buf, len,
             "%s: its backing file \"%s\" is a relative name, which QEMU cannot resolve from "
             "the descriptor vmrun gives it; make it absolute: qemu-img rebase -u -F qcow2 "
             "-b %s/%s %s",
             image, backing, dirname(dir), backing, image);
}
