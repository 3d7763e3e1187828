/* qemu/qcow2.c: the backing file name from a qcow2 header, on headers
 * written here (memfd), including the ones an image's owner could forge. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "qemu/qcow2.h"

static void put_be(unsigned char *p, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)v;
}

/* An image of 4 KiB: the header, and name (when not NULL) at offset off
 * with the size given. */
static int image(uint32_t magic, uint64_t off, uint32_t size, const char *name)
{
    int fd = memfd_create("qcow2", MFD_CLOEXEC);
    assert_true(fd >= 0);
    unsigned char buf[4096] = {0};
    put_be(buf, magic, 4);
    put_be(buf + 4, 3, 4);
    put_be(buf + 8, off, 8);
    put_be(buf + 16, size, 4);
    if (name != NULL && off < sizeof(buf))
        memcpy(buf + off, name, strnlen(name, sizeof(buf) - off));
    assert_int_equal(write(fd, buf, sizeof(buf)), (ssize_t)sizeof(buf));
    assert_int_equal(lseek(fd, 100, SEEK_SET), 100);
    return fd;
}

static void test_backing_names(void **state)
{
    (void)state;
    char name[64];
    int fd = image(0x514649fb, 512, 10, "base.qcow2");
    assert_int_equal(qcow2_backing_file(fd, name, sizeof(name)), 1);
    assert_string_equal(name, "base.qcow2");
    assert_int_equal(lseek(fd, 0, SEEK_CUR), 100); /* pread: the offset stays */
    close(fd);

    fd = image(0x514649fb, 0, 0, NULL); /* no backing file */
    assert_int_equal(qcow2_backing_file(fd, name, sizeof(name)), 0);
    close(fd);

    fd = image(0x12345678, 512, 10, "base.qcow2"); /* not qcow2: a raw image */
    assert_int_equal(qcow2_backing_file(fd, name, sizeof(name)), 0);
    close(fd);
}

static void test_forged_headers(void **state)
{
    (void)state;
    char name[64];
    /* Longer than the buffer, longer than the format allows, past the end,
     * an offset that wraps, a NUL inside the name. */
    int fd = image(0x514649fb, 512, 64, "x");
    assert_int_equal(qcow2_backing_file(fd, name, sizeof(name)), -EINVAL);
    close(fd);
    char big[2048];
    fd = image(0x514649fb, 512, 1024, "x");
    assert_int_equal(qcow2_backing_file(fd, big, sizeof(big)), -EINVAL);
    close(fd);
    fd = image(0x514649fb, 4090, 10, "abcdef");
    assert_int_equal(qcow2_backing_file(fd, name, sizeof(name)), -EINVAL);
    close(fd);
    fd = image(0x514649fb, UINT64_MAX - 4, 10, NULL);
    assert_int_equal(qcow2_backing_file(fd, name, sizeof(name)), -EINVAL);
    close(fd);
    fd = image(0x514649fb, 512, 10, "ab\0cd");
    assert_int_equal(qcow2_backing_file(fd, name, sizeof(name)), -EINVAL);
    close(fd);
    /* Shorter than a header. */
    fd = memfd_create("short", MFD_CLOEXEC);
    assert_int_equal(write(fd, "QFI\xfb", 4), 4);
    assert_int_equal(qcow2_backing_file(fd, name, sizeof(name)), 0);
    close(fd);
}

static void test_message(void **state)
{
    (void)state;
    char msg[512];
    qcow2_relative_backing_message(msg, sizeof(msg), "/vms/over.qcow2", "base.qcow2");
    assert_non_null(strstr(msg, "qemu-img rebase -u -F qcow2 -b /vms/base.qcow2 /vms/over.qcow2"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backing_names),
        cmocka_unit_test(test_forged_headers),
        cmocka_unit_test(test_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
