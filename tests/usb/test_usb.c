/* Host USB devices on a simulated host (make-fake-usb.sh): reading them
 * from sysfs, the usb[] rules that take them, what the host uses them
 * for, opening their nodes, and the journal record's undo. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "host/usb/usb_dev.h"
#include "host/usb/usb_give.h"
#include "host/usb/usb_rule.h"
#include "host/usb/usb_users.h"
#include "journal/journal.h"
#include "plan/undo.h"

struct fixture {
    char dir[PATH_MAX];
    char sys[PATH_MAX + 8];
};

static void run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void run(const char *fmt, ...)
{
    char cmd[4 * PATH_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    int r = system(cmd);
    if (r != 0)
        fail_msg("command failed (%d): %s", r, cmd);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/vmrun-usb-test-XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    run("bash %s %s/host", USB_FAKE_HOST_SCRIPT, f->dir);
    char path[PATH_MAX + 16];
    snprintf(f->sys, sizeof(f->sys), "%s/host/sys", f->dir);
    setenv("VMRUN_SYSFS_ROOT", f->sys, 1);
    snprintf(path, sizeof(path), "%s/host/proc", f->dir);
    setenv("VMRUN_PROCFS_ROOT", path, 1);
    snprintf(path, sizeof(path), "%s/host/dev", f->dir);
    setenv("VMRUN_DEV_ROOT", path, 1);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    run("rm -rf %s", f->dir);
    free(f);
    return 0;
}

static void read_dev(const char *port, struct usb_dev *d)
{
    struct vmrun_error err = {0};
    int r = usb_dev_read(port, d, &err);
    if (r < 0)
        fail_msg("usb_dev_read %s: %s", port, err.msg);
}

static void put(const struct fixture *f, const char *rel, const char *content)
{
    char path[2 * PATH_MAX];
    snprintf(path, sizeof(path), "%s/host/%s", f->dir, rel);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(content, fp);
    fclose(fp);
}

static void test_port_paths(void **state)
{
    (void)state;
    assert_true(profile_usb_port_valid("1-4"));
    assert_true(profile_usb_port_valid("1-4.2"));
    assert_true(profile_usb_port_valid("255-255.1.2.3.4.5"));
    assert_false(profile_usb_port_valid("1-4.2.1.1.1.1.1")); /* seven ports: deeper than USB goes */
    assert_false(profile_usb_port_valid("0-1"));
    assert_false(profile_usb_port_valid("1-0"));
    assert_false(profile_usb_port_valid("256-1"));
    assert_false(profile_usb_port_valid("1-256"));
    assert_false(profile_usb_port_valid("1-01"));
    assert_false(profile_usb_port_valid("1"));
    assert_false(profile_usb_port_valid("1-"));
    assert_false(profile_usb_port_valid("1-4."));
    assert_false(profile_usb_port_valid("usb1"));
    assert_false(profile_usb_port_valid("1-0:1.0"));
    assert_false(profile_usb_port_valid("1-4/../../x"));
    assert_false(profile_usb_port_valid(""));
}

static void test_read_devices(void **state)
{
    (void)state;
    struct usb_dev d;
    read_dev("2-3", &d);
    assert_int_equal(d.busnum, 2);
    assert_int_equal(d.devnum, 2);
    assert_int_equal(d.vendor, 0x1038);
    assert_int_equal(d.product, 0x12ad);
    assert_string_equal(d.name, "Arctis");
    assert_string_equal(d.speed, "5000");
    assert_string_equal(d.peer, "1-3"); /* the same connector's USB 2 port */
    assert_true(d.configured);
    assert_true(usb_dev_has_class(&d, 0x01));
    assert_true(usb_dev_has_class(&d, 0x03));
    assert_true(usb_dev_has_class(&d, 0x00)); /* bDeviceClass: per interface */
    assert_false(usb_dev_has_class(&d, 0x08));
    assert_int_equal(d.major, 189);
    assert_int_equal(d.minor, 129);

    read_dev("1-2", &d);
    assert_string_equal(d.serial, "3032363030");
    assert_string_equal(d.peer, "2-2");
    assert_true(usb_dev_has_class(&d, 0xff));
    read_dev("1-1.2", &d);
    assert_string_equal(d.peer, ""); /* behind a USB 2 hub: no SuperSpeed half */
    char desc[300];
    usb_dev_describe(&d, desc, sizeof(desc));
    assert_string_equal(desc, "1-1.2 (046d:c31c USB Keyboard)");

    struct vmrun_error err = {0};
    assert_int_equal(usb_dev_read("3-1", &d, &err), -ENOENT);
    assert_non_null(strstr(err.msg, "no USB device at port 3-1"));
    assert_int_equal(usb_dev_read("../../etc", &d, &err), -EINVAL);
}

static void test_list(void **state)
{
    (void)state;
    struct usb_dev *devs;
    size_t n;
    struct vmrun_error err = {0};
    assert_int_equal(usb_dev_list(&devs, &n, &err), 0);
    const char *want[] = {"1-1", "1-1.2", "1-1.3", "1-2", "1-4", "2-3"};
    assert_int_equal(n, 6); /* no root hubs, no interfaces */
    for (size_t i = 0; i < n; i++)
        assert_string_equal(devs[i].port, want[i]);
    free(devs);
    assert_int_equal(usb_dev_find_ids(0x045e, 0x02ea, &devs, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(devs[0].port, "1-2");
    assert_string_equal(devs[1].port, "1-4");
    free(devs);
}

/* The ports of the devices a rule takes, space-separated. */
static void taken(const struct vm_usb *r, char *out, size_t len)
{
    struct usb_dev *devs;
    size_t n;
    struct vmrun_error err = {0};
    assert_int_equal(usb_dev_list(&devs, &n, &err), 0);
    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        if (usb_rule_matches(r, &devs[i]))
            snprintf(out + strlen(out), len - strlen(out), "%s%s", out[0] ? " " : "",
                     devs[i].port);
    free(devs);
}

static void test_rules(void **state)
{
    (void)state;
    char got[256];
    struct vm_usb r = {.ids = true, .vendor = 0x045e, .product = 0x02ea, .class_code = -1};
    taken(&r, got, sizeof(got));
    assert_string_equal(got, "1-2 1-4");
    r.serial = (char *)"9999999999";
    taken(&r, got, sizeof(got));
    assert_string_equal(got, "1-4");
    r.serial = (char *)"nope";
    taken(&r, got, sizeof(got));
    assert_string_equal(got, "");

    /* A port is a connector: either half of it. */
    r = (struct vm_usb){.port = (char *)"1-3", .class_code = -1};
    taken(&r, got, sizeof(got));
    assert_string_equal(got, "2-3");
    r.port = (char *)"2-2";
    taken(&r, got, sizeof(got));
    assert_string_equal(got, "1-2");
    r.port = (char *)"1-1.2";
    taken(&r, got, sizeof(got));
    assert_string_equal(got, "1-1.2");
    r.port = (char *)"1-1"; /* the hub's port: the hub, not what is behind it */
    taken(&r, got, sizeof(got));
    assert_string_equal(got, "1-1");

    /* A class: of the device or of any of its interfaces. */
    r = (struct vm_usb){.class_code = 0x03};
    taken(&r, got, sizeof(got));
    assert_string_equal(got, "1-1.2 2-3");
    r.class_code = 0x01;
    taken(&r, got, sizeof(got));
    assert_string_equal(got, "2-3");
    /* Every criterion must hold. */
    r.port = (char *)"1-2";
    taken(&r, got, sizeof(got));
    assert_string_equal(got, "");

    struct vm_usb rules[] = {
        {.class_code = 0x03},
        {.port = (char *)"2-3", .class_code = -1},
    };
    struct usb_dev d;
    read_dev("2-3", &d);
    assert_int_equal(usb_rule_first_match(rules, 2, &d), 0);
    assert_int_equal(usb_rule_first_match(rules + 1, 1, &d), 0);
    read_dev("1-2", &d);
    assert_int_equal(usb_rule_first_match(rules, 2, &d), -1);

    struct vm_usb all = {.ids = true,  .vendor = 0x045e, .product = 0x02ea,
                           .serial = (char *)"3", .port = (char *)"1-2",   .class_code = 0xff};
    usb_rule_describe(&all, got, sizeof(got));
    assert_string_equal(got, "045e:02ea serial \"3\", port 1-2, class vendor");
}

static void host_use(const char *port, bool force, struct usb_host_use *u)
{
    struct usb_dev d;
    read_dev(port, &d);
    struct vmrun_error err = {0};
    if (usb_find_host_use(&d, force, u, &err) < 0)
        fail_msg("usb_find_host_use %s: %s", port, err.msg);
}

static void test_host_use(void **state)
{
    struct fixture *f = *state;
    struct usb_host_use u;
    host_use("1-1", true, &u);
    assert_true(u.refused && u.loses_data);
    assert_non_null(strstr(u.why, "it is a hub"));

    /* The mounted disk: refused, force or not. */
    host_use("1-1.3", true, &u);
    assert_true(u.refused && u.loses_data);
    assert_non_null(strstr(u.why, "sdb1 is mounted on /media/usb"));

    /* The only keyboard: refused unless forced. */
    host_use("1-1.2", false, &u);
    assert_true(u.refused);
    assert_false(u.loses_data);
    assert_non_null(strstr(u.why, "the host's only keyboard (\"USB Keyboard\")"));
    host_use("1-1.2", true, &u);
    assert_false(u.refused);
    assert_non_null(strstr(u.note, "only keyboard"));

    /* A keyboard made by software does not count as the host's ... */
    run("mkdir -p %s/devices/virtual/input/input9/capabilities && "
        "ln -s ../../devices/virtual/input/input9 %s/class/input/input9",
        f->sys, f->sys);
    put(f, "sys/devices/virtual/input/input9/capabilities/ev", "120013\n");
    put(f, "sys/devices/virtual/input/input9/capabilities/key", "fffffffffffffffe\n");
    host_use("1-1.2", false, &u);
    assert_true(u.refused);
    /* ... a second one of real hardware does. */
    run("mkdir -p %s/devices/platform/i8042/serio0/input/input1/capabilities && "
        "ln -s ../../devices/platform/i8042/serio0/input/input1 %s/class/input/input1",
        f->sys, f->sys);
    put(f, "sys/devices/platform/i8042/serio0/input/input1/capabilities/ev", "120013\n");
    put(f, "sys/devices/platform/i8042/serio0/input/input1/capabilities/key",
        "402000000 3803078f800d001 feffffdfffefffff fffffffffffffffe\n");
    host_use("1-1.2", false, &u);
    assert_false(u.refused);
    assert_string_equal(u.note, "");

    /* Nothing of the host's below it. */
    host_use("2-3", false, &u);
    assert_false(u.refused);
    assert_string_equal(u.why, "");

    /* A network interface that is up is said, not refused. */
    run("mkdir -p %s/devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0/net/wlan1 && "
        "ln -s ../../devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0/net/wlan1 "
        "%s/class/net/wlan1",
        f->sys, f->sys);
    put(f, "sys/devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0/net/wlan1/operstate", "up\n");
    host_use("1-2", false, &u);
    assert_false(u.refused);
    assert_non_null(strstr(u.note, "network interface wlan1"));
}

static void test_open(void **state)
{
    struct fixture *f = *state;
    struct usb_dev d;
    read_dev("1-2", &d);
    struct vmrun_error err = {0};
    /* A plain file where the node should be. */
    assert_int_equal(usb_dev_open(&d, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "is not the node of USB device 1-2"));

    /* A character device of other numbers than sysfs says. */
    char node[2 * PATH_MAX];
    snprintf(node, sizeof(node), "%s/host/dev/bus/usb/001/005", f->dir);
    unlink(node);
    if (mknod(node, S_IFCHR | 0600, makedev(1, 3)) < 0)
        skip(); /* not root */
    assert_int_equal(usb_dev_open(&d, &err), -EINVAL);
    /* The right numbers, but what answers is no USB device with d's ids
     * (/dev/null reads nothing). */
    d.major = 1;
    d.minor = 3;
    assert_int_equal(usb_dev_open(&d, &err), -ENODEV);
    assert_non_null(strstr(err.msg, "is no longer USB device 1-2 045e:02ea"));
    /* Gone. */
    unlink(node);
    assert_int_equal(usb_dev_open(&d, &err), -ENOENT);
    assert_non_null(strstr(err.msg, "is gone"));
    /* A link is never followed. */
    assert_int_equal(symlink("/dev/null", node), 0);
    assert_true(usb_dev_open(&d, &err) < 0);
}

static char *slurp(const struct fixture *f, const char *rel)
{
    static char buf[4096];
    char path[2 * PATH_MAX];
    snprintf(path, sizeof(path), "%s/host/%s", f->dir, rel);
    FILE *fp = fopen(path, "r");
    size_t n = fp != NULL ? fread(buf, 1, sizeof(buf) - 1, fp) : 0;
    buf[n] = '\0';
    if (fp != NULL)
        fclose(fp);
    return buf;
}

static void test_give_back(void **state)
{
    struct fixture *f = *state;
    struct usb_dev d;
    read_dev("1-2", &d);
    char names[256];
    struct vmrun_error err = {0};

    /* Another enumeration at the port: left alone. */
    struct usb_dev other = d;
    other.devnum = 42;
    assert_int_equal(usb_give_back(&other, names, sizeof(names), &err), 0);
    assert_string_equal(names, "");
    assert_string_equal(slurp(f, "sys/bus/usb/drivers_probe"), "");

    /* Its interface has no driver: the kernel is asked to probe one. */
    assert_int_equal(usb_give_back(&d, names, sizeof(names), &err), 0);
    assert_string_equal(names, "1-2:1.0");
    assert_string_equal(slurp(f, "sys/bus/usb/drivers_probe"), "1-2:1.0");

    /* Through the journal: recorded, undone as `vmrun recover` does. */
    put(f, "sys/bus/usb/drivers_probe", "");
    char jpath[PATH_MAX + 16];
    snprintf(jpath, sizeof(jpath), "%s/journal", f->dir);
    struct journal j = {.fd = -1};
    assert_int_equal(journal_open(&j, jpath, &err), 0);
    assert_int_equal(usb_give_record(&j, &d, "usb0-1-2", &err), 0);
    journal_close(&j);
    struct journal_entries e;
    assert_int_equal(journal_load(jpath, &e, &err), 0);
    assert_int_equal(e.n, 1);
    const struct journal_op *op = journal_find_op(e.items[0].op);
    assert_non_null(op);
    char what[256];
    op->describe(e.items[0].args, what, sizeof(what));
    assert_string_equal(what, "USB device 1-2 (045e:02ea) given to the VM as usb0-1-2");
    struct vmrun_error uerr = {0};
    assert_int_equal(op->undo(e.items[0].args, &uerr), 0);
    assert_non_null(strstr(uerr.msg, "probed again for 1-2:1.0"));
    assert_string_equal(slurp(f, "sys/bus/usb/drivers_probe"), "1-2:1.0");
    journal_entries_free(&e);

    /* With its driver back, nothing is asked. */
    put(f, "sys/bus/usb/drivers_probe", "");
    run("mkdir -p %s/bus/usb/drivers/xpad && ln -s ../../../../../../bus/usb/drivers/xpad "
        "%s/devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0/driver",
        f->sys, f->sys);
    assert_int_equal(usb_give_back(&d, names, sizeof(names), &err), 0);
    assert_string_equal(names, "");
    assert_string_equal(slurp(f, "sys/bus/usb/drivers_probe"), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_port_paths),
        cmocka_unit_test_setup_teardown(test_read_devices, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_host_use, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_give_back, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
