/* The kernel uevent reader (launcher/sys/uevent.h): the parser on kernel
 * messages and on what no kernel sends, and the socket on this machine's
 * own kernel: a synthetic event (written to a device's sysfs "uevent"
 * file, which only root can do) arrives; a message a process sends to the
 * same group does not. Needs root for the socket half (skipped otherwise). */
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/cleanup.h"
#include "sys/uevent.h"

/* A message as the kernel builds it: the header, then KEY=VALUE strings,
 * each with its NUL (sizeof keeps the final one). */
static const char usb_add[] = "add@/devices/pci0000:00/0000:00:14.0/usb1/1-4/1-4.2\0"
                              "ACTION=add\0"
                              "DEVPATH=/devices/pci0000:00/0000:00:14.0/usb1/1-4/1-4.2\0"
                              "SUBSYSTEM=usb\0"
                              "MAJOR=189\0"
                              "MINOR=5\0"
                              "DEVNAME=bus/usb/001/006\0"
                              "DEVTYPE=usb_device\0"
                              "PRODUCT=46d/c52b/1211\0"
                              "TYPE=0/0/0\0"
                              "BUSNUM=001\0"
                              "DEVNUM=006\0"
                              "SEQNUM=4711\0";

static void parses_a_kernel_message(void **state)
{
    (void)state;
    static struct uevent ev;
    assert_int_equal(uevent_parse(usb_add, sizeof(usb_add), &ev), 0);
    assert_string_equal(ev.action, "add");
    assert_string_equal(ev.devpath, "/devices/pci0000:00/0000:00:14.0/usb1/1-4/1-4.2");
    assert_string_equal(ev.subsystem, "usb");
    assert_string_equal(ev.devname, "bus/usb/001/006");
    assert_string_equal(ev.devtype, "usb_device");
    assert_int_equal(ev.major, 189);
    assert_int_equal(ev.minor, 5);
    assert_true(ev.seqnum == 4711);
    assert_int_equal(ev.nvars, 12);
    assert_string_equal(uevent_get(&ev, "PRODUCT"), "46d/c52b/1211");
    assert_null(uevent_get(&ev, "SERIAL"));
    /* Without the final NUL too (a sender that counts strlen). */
    assert_int_equal(uevent_parse(usb_add, sizeof(usb_add) - 1, &ev), 0);
    assert_string_equal(uevent_get(&ev, "SEQNUM"), "4711");
}

static void optional_fields_absent(void **state)
{
    (void)state;
    static const char msg[] = "remove@/devices/virtual/input/input9\0ACTION=remove\0"
                              "DEVPATH=/devices/virtual/input/input9\0";
    static struct uevent ev;
    assert_int_equal(uevent_parse(msg, sizeof(msg), &ev), 0);
    assert_null(ev.subsystem);
    assert_null(ev.devname);
    assert_null(ev.devtype);
    assert_int_equal(ev.major, -1);
    assert_int_equal(ev.minor, -1);
    assert_true(ev.seqnum == 0);
}

static void refuses(const char *msg, size_t len)
{
    static struct uevent ev;
    assert_int_equal(uevent_parse(msg, len, &ev), -EINVAL);
}
#define REFUSES(lit) refuses(lit, sizeof(lit))

static void refuses_what_no_kernel_sends(void **state)
{
    (void)state;
    refuses("", 0);
    /* udevd's own messages (group 2) start with "libudev". */
    REFUSES("libudev\0\xfe\xed\xca\xfe");
    REFUSES("add@/devices/x\0ACTION=add\0");                        /* no DEVPATH */
    REFUSES("add@/devices/x\0DEVPATH=/devices/x\0");                /* no ACTION */
    REFUSES("add@/devices/x\0ACTION=remove\0DEVPATH=/devices/x\0"); /* header disagrees */
    REFUSES("add@/devices/x\0ACTION=add\0DEVPATH=/devices/y\0");
    REFUSES("add@devices/x\0ACTION=add\0DEVPATH=devices/x\0"); /* not a sysfs path */
    REFUSES("@/devices/x\0ACTION=\0DEVPATH=/devices/x\0");
    REFUSES("add@/devices/x\0ACTION=add\0DEVPATH=/devices/x\0NOEQUALS\0");
    REFUSES("add@/devices/x\0ACTION=add\0DEVPATH=/devices/x\0=value\0");
    REFUSES("add@/devices/x\0ACTION=add\0\0DEVPATH=/devices/x\0"); /* empty line inside */
    REFUSES("add@/devices/x\0ACTION=add\0DEVPATH=/devices/x\0MAJOR=1a\0");
    REFUSES("add@/devices/x\0ACTION=add\0DEVPATH=/devices/x\0MINOR=\0");
    REFUSES("add@/devices/x\0ACTION=add\0DEVPATH=/devices/x\0MAJOR=99999999999\0");
    REFUSES("add@/devices/x\0ACTION=add\0DEVPATH=/devices/x\0SEQNUM=-1\0");
    REFUSES("add@/devices/x\0ACTION=add\0DEVPATH=/devices/x\0SEQNUM=99999999999999999999\0");
}

static void refuses_too_many_or_too_long(void **state)
{
    (void)state;
    static char msg[2 * UEVENT_BUFFER_SIZE];
    size_t n = (size_t)snprintf(msg, sizeof(msg), "add@/devices/x") + 1;
    n += (size_t)snprintf(msg + n, sizeof(msg) - n, "ACTION=add") + 1;
    n += (size_t)snprintf(msg + n, sizeof(msg) - n, "DEVPATH=/devices/x") + 1;
    size_t base = n;
    for (int i = 0; i < UEVENT_MAX_VARS - 2; i++)
        n += (size_t)snprintf(msg + n, sizeof(msg) - n, "K%d=v", i) + 1;
    static struct uevent ev;
    assert_int_equal(uevent_parse(msg, n, &ev), 0);
    assert_int_equal(ev.nvars, UEVENT_MAX_VARS);
    n += (size_t)snprintf(msg + n, sizeof(msg) - n, "ONE=more") + 1;
    assert_int_equal(uevent_parse(msg, n, &ev), -EINVAL);

    n = base;
    memset(msg + n, 'a', UEVENT_BUFFER_SIZE);
    msg[n] = 'L';
    msg[n + 1] = '=';
    msg[n + UEVENT_BUFFER_SIZE - 1] = '\0';
    assert_int_equal(uevent_parse(msg, n + UEVENT_BUFFER_SIZE, &ev), -EINVAL);
}

/* Wait up to two seconds for an event whose SYNTH_UUID is uuid. */
static int wait_for_synthetic(int fd, const char *uuid, struct uevent *ev)
{
    struct vmrun_error err = {0};
    for (int i = 0; i < 200; i++) {
        int r = uevent_read(fd, ev, &err);
        if (r < 0)
            return r;
        if (r == 1) {
            const char *u = uevent_get(ev, "SYNTH_UUID");
            if (u != NULL && strcmp(u, uuid) == 0)
                return 1;
            continue;
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        (void)poll(&p, 1, 10);
    }
    return 0;
}

static void kernel_events_arrive_and_forged_ones_do_not(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip();
    struct vmrun_error err = {0};
    cleanup_close int fd = uevent_open(&err);
    assert_true(fd >= 0);
    assert_true((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
    assert_true((fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);

    /* A process with the right to send to the group (root here; a user
     * in a namespace of their own elsewhere) is not the kernel. */
    char uuid[40];
    snprintf(uuid, sizeof(uuid), "00000000-0000-4000-8000-%012ld", (long)getpid());
    char forged[512];
    int n = snprintf(forged, sizeof(forged),
                     "change@/devices/virtual/mem/null%cACTION=change%cDEVPATH=/devices/virtual/"
                     "mem/null%cSUBSYSTEM=mem%cSYNTH_UUID=%s",
                     0, 0, 0, 0, uuid);
    cleanup_close int tx = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);
    assert_true(tx >= 0);
    struct sockaddr_nl to = {.nl_family = AF_NETLINK, .nl_groups = 1};
    assert_true(sendto(tx, forged, (size_t)n + 1, 0, (struct sockaddr *)&to, sizeof(to)) == n + 1);
    static struct uevent ev;
    assert_int_equal(wait_for_synthetic(fd, uuid, &ev), 0);

    /* The kernel's own, asked for through sysfs with an id of this test's:
     * /dev/null's "change", which changes nothing. */
    char req[128];
    snprintf(req, sizeof(req), "change %s", uuid);
    cleanup_close int u = open("/sys/devices/virtual/mem/null/uevent", O_WRONLY | O_CLOEXEC);
    assert_true(u >= 0);
    assert_true(write(u, req, strlen(req)) == (ssize_t)strlen(req));
    assert_int_equal(wait_for_synthetic(fd, uuid, &ev), 1);
    assert_string_equal(ev.action, "change");
    assert_string_equal(ev.devpath, "/devices/virtual/mem/null");
    assert_string_equal(ev.subsystem, "mem");
    assert_string_equal(ev.devname, "null");
    assert_int_equal(ev.major, 1);
    assert_int_equal(ev.minor, 3);
    assert_true(ev.seqnum > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_a_kernel_message),
        cmocka_unit_test(optional_fields_absent),
        cmocka_unit_test(refuses_what_no_kernel_sends),
        cmocka_unit_test(refuses_too_many_or_too_long),
        cmocka_unit_test(kernel_events_arrive_and_forged_ones_do_not),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
