/* Which event nodes an input[] entry names (launcher/host/input/
 * input_match.c), in a simulated sysfs and /dev (VMRUN_SYSFS_ROOT,
 * VMRUN_DEV_ROOT): a USB receiver with a keyboard and a mouse interface,
 * a second one like it, a program's uinput keyboard and one of vmrun's own
 * virtual devices. Needs root (mknod). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "host/input/input_match.h"

static char root[256];

static void put(const char *rel, const char *content)
{
    char path[1024], cmd[1100];
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", path);
    assert_int_equal(system(cmd), 0);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "%s\n", content);
    fclose(f);
}

static void link_to(const char *rel, const char *target)
{
    char path[1024], cmd[1100];
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", path);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(symlink(target, path), 0);
}

static void node(const char *event, unsigned minor_)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/dev/input/%s", root, event);
    assert_int_equal(mknod(path, S_IFCHR | 0660, makedev(13, minor_)), 0);
}

/* An input device with one event node under sysfs directory dir. */
static void input_dev(const char *dir, const char *input, const char *event, unsigned minor_,
                      const char *name, const char *phys, const char *ids, const char *uniq)
{
    char rel[512], num[32];
    snprintf(rel, sizeof(rel), "sys/%s/input/%s/name", dir, input);
    put(rel, name);
    snprintf(rel, sizeof(rel), "sys/%s/input/%s/phys", dir, input);
    put(rel, phys);
    snprintf(rel, sizeof(rel), "sys/%s/input/%s/uniq", dir, input);
    put(rel, uniq);
    unsigned v, p;
    sscanf(ids, "%x:%x", &v, &p);
    snprintf(num, sizeof(num), "%04x", v);
    snprintf(rel, sizeof(rel), "sys/%s/input/%s/id/vendor", dir, input);
    put(rel, num);
    snprintf(num, sizeof(num), "%04x", p);
    snprintf(rel, sizeof(rel), "sys/%s/input/%s/id/product", dir, input);
    put(rel, num);
    snprintf(num, sizeof(num), "13:%u", minor_);
    snprintf(rel, sizeof(rel), "sys/%s/input/%s/%s/dev", dir, input, event);
    put(rel, num);
    char target[512];
    snprintf(rel, sizeof(rel), "sys/class/input/%s", event);
    snprintf(target, sizeof(target), "../../%s/input/%s/%s", dir, input, event);
    link_to(rel, target);
    node(event, minor_);
}

static void usb_dev(const char *dir, const char *vendor, const char *product, const char *serial)
{
    char rel[512];
    snprintf(rel, sizeof(rel), "sys/%s/idVendor", dir);
    put(rel, vendor);
    snprintf(rel, sizeof(rel), "sys/%s/idProduct", dir);
    put(rel, product);
    snprintf(rel, sizeof(rel), "sys/%s/serial", dir);
    put(rel, serial);
}

static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof(root), "/tmp/vmrun-input-match-XXXXXX");
    assert_non_null(mkdtemp(root));
    char path[512];
    snprintf(path, sizeof(path), "%s/sys", root);
    setenv("VMRUN_SYSFS_ROOT", path, 1);
    snprintf(path, sizeof(path), "%s/dev", root);
    setenv("VMRUN_DEV_ROOT", path, 1);
    const char *r1 = "devices/pci0000:00/0000:00:14.0/usb1/1-2";
    const char *r2 = "devices/pci0000:00/0000:00:14.0/usb1/1-3";
    put("dev/input/.keep", "");
    usb_dev(r1, "046d", "c52b", "ABC");
    usb_dev(r2, "046d", "c52b", "DEF");
    char dir[256];
    snprintf(dir, sizeof(dir), "%s/1-2:1.0/0003:046D:C52B.0001", r1);
    input_dev(dir, "input5", "event3", 67, "Logitech USB Receiver", "usb-0000:00:14.0-2/input0",
              "046d:c52b", "");
    snprintf(dir, sizeof(dir), "%s/1-2:1.1/0003:046D:C52B.0002", r1);
    input_dev(dir, "input6", "event4", 68, "Logitech USB Receiver Mouse",
              "usb-0000:00:14.0-2/input1", "046d:c52b", "");
    snprintf(dir, sizeof(dir), "%s/1-3:1.0/0003:046D:C52B.0003", r2);
    input_dev(dir, "input7", "event6", 70, "Logitech USB Receiver", "usb-0000:00:14.0-3/input0",
              "046d:c52b", "");
    input_dev("devices/virtual", "input9", "event9", 73, "lab keyboard", "", "1234:5678", "k1");
    input_dev("devices/virtual", "input10", "event10", 74, "vmrun lab keyboard",
              "vmrun/labvm/input0", "1234:5678", "");
    link_to("dev/input/by-id/usb-Logitech_USB_Receiver-event-kbd", "../event3");
    snprintf(path, sizeof(path), "%s/dev/null", root);
    assert_int_equal(mknod(path, S_IFCHR | 0666, makedev(1, 3)), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}

struct found {
    int r;
    size_t n;
    char events[8][32];
    struct vmrun_error err;
};

static struct found match(const struct input_spec *s)
{
    struct found f = {0};
    struct input_nodes l;
    assert_int_equal(input_nodes_scan(&l, &f.err), 0);
    size_t idx[8];
    f.r = input_match(s, &l, idx, 8, &f.n, &f.err);
    for (size_t i = 0; i < f.n; i++)
        snprintf(f.events[i], sizeof(f.events[i]), "%s", l.items[idx[i]].event);
    /* sort for the asserts */
    if (f.n == 2 && strcmp(f.events[0], f.events[1]) > 0) {
        char t[32];
        strcpy(t, f.events[0]);
        strcpy(f.events[0], f.events[1]);
        strcpy(f.events[1], t);
    }
    input_nodes_free(&l);
    return f;
}

static void test_scan(void **state)
{
    (void)state;
    struct input_nodes l;
    struct vmrun_error err = {0};
    assert_int_equal(input_nodes_scan(&l, &err), 0);
    /* vmrun's own virtual device is never a candidate. */
    assert_int_equal(l.n, 4);
    for (size_t i = 0; i < l.n; i++) {
        assert_string_not_equal(l.items[i].event, "event10");
        if (strcmp(l.items[i].event, "event4") == 0) {
            assert_int_equal(l.items[i].vendor, 0x046d);
            assert_string_equal(l.items[i].serial, "ABC");
            assert_int_equal(major(l.items[i].rdev), 13);
            assert_int_equal(minor(l.items[i].rdev), 68);
            assert_non_null(strstr(l.items[i].physdev, "/usb1/1-2"));
        }
        if (strcmp(l.items[i].event, "event9") == 0) {
            /* Not on USB: the input device is the physical device. */
            assert_non_null(strstr(l.items[i].physdev, "/virtual/input/input9"));
            assert_string_equal(l.items[i].serial, "k1");
        }
    }
    input_nodes_free(&l);
}

static void test_ids(void **state)
{
    (void)state;
    struct input_spec s = {.vendor = 0x046d, .product = 0xc52b};
    struct found f = match(&s);
    assert_int_equal(f.r, -EEXIST);
    /* The message names both, and how to tell them apart. */
    assert_non_null(strstr(f.err.msg, "serial ABC"));
    assert_non_null(strstr(f.err.msg, "serial DEF"));
    assert_non_null(strstr(f.err.msg, "vendor:product:serial"));

    s.serial = "ABC";
    f = match(&s);
    assert_int_equal(f.r, 0);
    assert_int_equal(f.n, 2);
    assert_string_equal(f.events[0], "event3");
    assert_string_equal(f.events[1], "event4");

    s.serial = "XYZ";
    f = match(&s);
    assert_int_equal(f.r, 0);
    assert_int_equal(f.n, 0);

    struct input_spec lab = {.vendor = 0x1234, .product = 0x5678};
    f = match(&lab);
    assert_int_equal(f.r, 0);
    assert_int_equal(f.n, 1);
    assert_string_equal(f.events[0], "event9");
}

static void test_paths(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof(path), "%s/dev/input/by-id/usb-Logitech_USB_Receiver-event-kbd", root);
    struct input_spec one = {.path = path};
    struct found f = match(&one);
    assert_int_equal(f.r, 0);
    assert_int_equal(f.n, 1);
    assert_string_equal(f.events[0], "event3");

    struct input_spec whole = {.path = path, .whole_device = true};
    f = match(&whole);
    assert_int_equal(f.r, 0);
    assert_int_equal(f.n, 2);
    assert_string_equal(f.events[1], "event4");

    snprintf(path, sizeof(path), "%s/dev/input/by-id/not-yet", root);
    f = match(&one);
    assert_int_equal(f.r, 0);
    assert_int_equal(f.n, 0);

    snprintf(path, sizeof(path), "%s/dev/null", root);
    f = match(&one);
    assert_int_equal(f.r, -ENODEV);

    /* A link in a directory someone else may write to is not followed. */
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/dev/input/by-user", root);
    assert_int_equal(mkdir(dir, 0777), 0);
    assert_int_equal(chown(dir, 65534, 65534), 0);
    snprintf(path, sizeof(path), "%s/kbd", dir);
    assert_int_equal(symlink("../event3", path), 0);
    f = match(&one);
    assert_int_equal(f.r, -EPERM);
    assert_non_null(strstr(f.err.msg, "root controls"));
}

int main(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "test_input_match needs root (mknod)\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scan),
        cmocka_unit_test(test_ids),
        cmocka_unit_test(test_paths),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
