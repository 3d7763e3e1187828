/* Virtual input devices made with uinput (uinput_dev.h). */
#include "host/input/uinput_dev.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/uinput.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "sys/hostfile.h"
#include "sys/hostpath.h"

int uinput_phys(char *buf, size_t len, const char *vm, size_t entry)
{
    int n = snprintf(buf, len, "vmrun/%s/input%zu", vm, entry);
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int set_bits(int fd, unsigned long request, const uint8_t *bits, unsigned max)
{
    for (unsigned i = 0; i <= max; i++)
        if (input_bit(bits, i) && ioctl(fd, request, i) < 0)
            return -errno;
    return 0;
}

/* The event node of the device: /sys/devices/virtual/input/inputN/eventM
 * names it, and its dev file gives the number devtmpfs made the node
 * with. The node is there once UI_DEV_CREATE returns (devtmpfs makes it
 * synchronously); a short wait covers a udev that recreates it. */
static int find_node(struct uinput_dev *d, struct vmrun_error *err)
{
    char dir[PATH_MAX];
    if (host_path(dir, sizeof(dir), HOST_SYS, "/devices/virtual/input/%s", d->sysname) < 0)
        return vmrun_failx(err, ENAMETOOLONG, "sysfs path of %s", d->sysname);
    char event[NAME_MAX + 1] = "";
    {
        cleanup_closedir DIR *dd = opendir(dir);
        if (dd == NULL)
            return vmrun_fail(err, errno, "open %s", dir);
        struct dirent *e;
        while ((e = readdir(dd)) != NULL)
            if (strncmp(e->d_name, "event", 5) == 0)
                snprintf(event, sizeof(event), "%s", e->d_name);
    }
    if (event[0] == '\0')
        return vmrun_failx(
            err, ENODEV, "the virtual device %s has no event node (is evdev loaded?)", d->sysname);
    char devfile[PATH_MAX], num[32];
    unsigned ma, mi;
    if (snprintf(devfile, sizeof(devfile), "%s/%s/dev", dir, event) >= (int)sizeof(devfile) ||
        hostfile_read(devfile, num, sizeof(num)) < 0 || sscanf(num, "%u:%u", &ma, &mi) != 2)
        return vmrun_failx(err, ENODEV, "cannot read %s", devfile);
    d->rdev = makedev(ma, mi);
    if (host_path(d->node, sizeof(d->node), HOST_DEV, "/input/%s", event) < 0)
        return vmrun_failx(err, ENAMETOOLONG, "node path of %s", event);
    for (int i = 0; i < 100; i++) {
        struct stat st;
        if (lstat(d->node, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == d->rdev)
            return 0;
        poll(NULL, 0, 20);
    }
    return vmrun_failx(err, ENODEV, "the event node %s of the virtual device %s did not appear",
                       d->node, d->sysname);
}

int uinput_create(const struct input_caps *phys_caps, const char *phys, struct uinput_dev *out,
                  struct vmrun_error *err)
{
    *out = (struct uinput_dev){.fd = -1};
    struct input_caps c = *phys_caps;
    input_caps_for_virtual(&c);
    char path[PATH_MAX];
    if (host_path(path, sizeof(path), HOST_DEV, "/uinput") < 0)
        return vmrun_failx(err, ENAMETOOLONG, "/dev/uinput");
    cleanup_close int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return vmrun_fail(err, errno,
                          "open %s, to make the VM's virtual input devices (load the uinput "
                          "module: modprobe uinput)",
                          path);
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode))
        return vmrun_failx(err, ENODEV, "%s is not a character device", path);

    int r;
    if ((r = set_bits(fd, UI_SET_EVBIT, c.ev, EV_MAX)) < 0 ||
        (r = set_bits(fd, UI_SET_KEYBIT, c.key, KEY_MAX)) < 0 ||
        (r = set_bits(fd, UI_SET_RELBIT, c.rel, REL_MAX)) < 0 ||
        (r = set_bits(fd, UI_SET_MSCBIT, c.msc, MSC_MAX)) < 0 ||
        (r = set_bits(fd, UI_SET_LEDBIT, c.led, LED_MAX)) < 0 ||
        (r = set_bits(fd, UI_SET_PROPBIT, c.prop, INPUT_PROP_MAX)) < 0 ||
        (r = set_bits(fd, UI_SET_ABSBIT, c.abs, ABS_MAX)) < 0)
        return vmrun_fail(err, -r, "set up a virtual input device");
    for (unsigned a = 0; a <= ABS_MAX; a++) {
        if (!input_bit(c.abs, a))
            continue;
        struct uinput_abs_setup as = {.code = (uint16_t)a, .absinfo = c.absinfo[a]};
        if (ioctl(fd, UI_ABS_SETUP, &as) < 0)
            return vmrun_fail(err, errno, "set up axis %u of a virtual input device", a);
    }
    if (ioctl(fd, UI_SET_PHYS, phys) < 0)
        return vmrun_fail(err, errno, "name a virtual input device");
    struct uinput_setup setup = {.id = c.id};
    setup.id.bustype = BUS_VIRTUAL;
    snprintf(setup.name, sizeof(setup.name), "vmrun %s", c.name);
    if (ioctl(fd, UI_DEV_SETUP, &setup) < 0 || ioctl(fd, UI_DEV_CREATE) < 0)
        return vmrun_fail(err, errno, "create a virtual input device");
    out->fd = steal_fd(&fd);
    if (ioctl(out->fd, UI_GET_SYSNAME(sizeof(out->sysname)), out->sysname) < 0) {
        int e = errno;
        uinput_close(out);
        return vmrun_fail(err, e, "the name of a virtual input device");
    }
    /* Inhibited before anything can open its node (root's until vmrun
     * hands it over): nothing reaches the host's consoles through it. */
    if ((r = uinput_inhibit(out, true, err)) < 0 || (r = find_node(out, err)) < 0) {
        uinput_close(out);
        return r;
    }
    return 0;
}

int uinput_inhibit(const struct uinput_dev *d, bool on, struct vmrun_error *err)
{
    char path[PATH_MAX];
    if (host_path(path, sizeof(path), HOST_SYS, "/devices/virtual/input/%s/inhibited", d->sysname) <
        0)
        return vmrun_failx(err, ENAMETOOLONG, "sysfs path of %s", d->sysname);
    int r = hostfile_write(path, on ? "1" : "0");
    if (r == -ENOENT)
        return vmrun_failx(err, ENOTSUP,
                           "this kernel cannot inhibit input devices (%s is missing; Linux 5.11 "
                           "or later has it)",
                           path);
    if (r < 0)
        return vmrun_fail(err, -r, "write %s", path);
    return 0;
}

void uinput_close(struct uinput_dev *d)
{
    if (d->fd >= 0) {
        /* Closing destroys it; UI_DEV_DESTROY first says so plainly. */
        ioctl(d->fd, UI_DEV_DESTROY);
        close(d->fd);
    }
    d->fd = -1;
}

int uinput_find_leftovers(const char *vm, char (*names)[32], size_t max)
{
    char dir[PATH_MAX], want[128];
    if (host_path(dir, sizeof(dir), HOST_SYS, "/class/input") < 0 ||
        snprintf(want, sizeof(want), "vmrun/%s/", vm) >= (int)sizeof(want))
        return -ENAMETOOLONG;
    cleanup_closedir DIR *d = opendir(dir);
    if (d == NULL)
        return errno == ENOENT ? 0 : -errno;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "input", 5) != 0 || strlen(e->d_name) >= 32)
            continue;
        char path[PATH_MAX], phys[256];
        if (snprintf(path, sizeof(path), "%s/%s/phys", dir, e->d_name) >= (int)sizeof(path) ||
            hostfile_read(path, phys, sizeof(phys)) < 0 || strncmp(phys, want, strlen(want)) != 0)
            continue;
        if (n < max)
            snprintf(names[n], 32, "%s", e->d_name);
        n++;
    }
    return (int)(n < max ? n : max);
}
