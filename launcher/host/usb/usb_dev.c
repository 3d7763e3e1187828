/* The host's USB devices in sysfs, and their nodes (usb_dev.h). */
#include "host/usb/usb_dev.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "sys/hostfile.h"
#include "sys/hostpath.h"

bool usb_dev_has_class(const struct usb_dev *d, unsigned c)
{
    return c < 256 && (d->classes[c / 32] & (UINT32_C(1) << (c % 32))) != 0;
}

static void add_class(struct usb_dev *d, unsigned c)
{
    if (c < 256)
        d->classes[c / 32] |= UINT32_C(1) << (c % 32);
}

static int attr_path(char *buf, size_t len, const char *name, const char *attr)
{
    return host_path(buf, len, HOST_SYS, "/bus/usb/devices/%s/%s", name, attr);
}

/* A string attribute; "" when absent (serial, manufacturer and product
 * are optional). */
static void read_string(const char *port, const char *attr, char *buf, size_t len)
{
    char path[PATH_MAX];
    if (attr_path(path, sizeof(path), port, attr) < 0 || hostfile_read(path, buf, len) < 0)
        buf[0] = '\0';
}

/* A hexadecimal attribute of at most max. */
static int read_hex(const char *port, const char *attr, unsigned max, unsigned *out)
{
    char path[PATH_MAX], buf[32];
    int r = attr_path(path, sizeof(path), port, attr);
    if (r < 0 || (r = hostfile_read(path, buf, sizeof(buf))) < 0)
        return r;
    char *end;
    errno = 0;
    unsigned long v = strtoul(buf, &end, 16);
    if (errno != 0 || end == buf || *end != '\0' || v > max)
        return -EINVAL;
    *out = (unsigned)v;
    return 0;
}

static int read_dec(const char *port, const char *attr, unsigned max, unsigned *out)
{
    char path[PATH_MAX];
    unsigned long v;
    int r = attr_path(path, sizeof(path), port, attr);
    if (r < 0 || (r = hostfile_read_ulong(path, &v)) < 0)
        return r;
    if (v > max)
        return -EINVAL;
    *out = (unsigned)v;
    return 0;
}

/* The port path of a hub port device's name: "usb2-port4" is "2-4",
 * "2-4-port2" is "2-4.2". "" when the name is neither. */
static void port_of_port_device(const char *name, char *out, size_t len)
{
    out[0] = '\0';
    const char *dash = strrchr(name, '-');
    if (dash == NULL || strncmp(dash, "-port", 5) != 0 || dash == name)
        return;
    const char *num = dash + 5;
    char hub[USB_PORT_MAX];
    if ((size_t)(dash - name) >= sizeof(hub))
        return;
    snprintf(hub, sizeof(hub), "%.*s", (int)(dash - name), name);
    char p[USB_PORT_MAX + 8];
    if (strncmp(hub, "usb", 3) == 0)
        snprintf(p, sizeof(p), "%s-%s", hub + 3, num);
    else
        snprintf(p, sizeof(p), "%s.%s", hub, num);
    if (profile_usb_port_valid(p))
        snprintf(out, len, "%s", p);
}

/* The connector's other port: the device's port ("port", a link to its hub
 * port) and that port's "peer". */
static void read_peer(const char *port, char *out, size_t len, bool *linked)
{
    char path[PATH_MAX], target[PATH_MAX];
    struct stat st;
    out[0] = '\0';
    *linked = attr_path(path, sizeof(path), port, "port") == 0 && lstat(path, &st) == 0;
    if (attr_path(path, sizeof(path), port, "port/peer") < 0)
        return;
    ssize_t n = readlink(path, target, sizeof(target) - 1);
    if (n <= 0)
        return;
    target[n] = '\0';
    const char *base = strrchr(target, '/');
    port_of_port_device(base != NULL ? base + 1 : target, out, len);
}

/* The classes of the interfaces of the active configuration: entries
 * "PORT:C.I" of the device's directory. */
static void read_interface_classes(const char *port, struct usb_dev *d)
{
    char path[PATH_MAX];
    if (host_path(path, sizeof(path), HOST_SYS, "/bus/usb/devices/%s", port) < 0)
        return;
    cleanup_closedir DIR *dir = opendir(path);
    struct dirent *e;
    size_t plen = strlen(port);
    while (dir != NULL && (e = readdir(dir)) != NULL) {
        if (strncmp(e->d_name, port, plen) != 0 || e->d_name[plen] != ':')
            continue;
        char attr[NAME_MAX + 32];
        unsigned c;
        snprintf(attr, sizeof(attr), "%s/bInterfaceClass", e->d_name);
        if (read_hex(port, attr, 0xff, &c) == 0)
            add_class(d, c);
    }
}

int usb_dev_read(const char *port, struct usb_dev *out, struct vmrun_error *err)
{
    memset(out, 0, sizeof(*out));
    if (!profile_usb_port_valid(port))
        return vmrun_failx(err, EINVAL, "\"%s\" is not a USB port path such as \"1-4.2\"", port);
    snprintf(out->port, sizeof(out->port), "%s", port);
    char path[PATH_MAX], devno[32];
    int r;
    if ((r = read_dec(port, "busnum", 255, &out->busnum)) < 0 ||
        (r = read_dec(port, "devnum", 255, &out->devnum)) < 0 ||
        (r = read_hex(port, "idVendor", 0xffff, &out->vendor)) < 0 ||
        (r = read_hex(port, "idProduct", 0xffff, &out->product)) < 0 ||
        (r = read_hex(port, "bDeviceClass", 0xff, &out->device_class)) < 0) {
        if (r == -ENOENT || r == -ENODEV)
            return vmrun_failx(err, ENOENT, "no USB device at port %s", port);
        return vmrun_fail(err, -r, "USB device %s: reading sysfs", port);
    }
    if ((r = attr_path(path, sizeof(path), port, "dev")) < 0 ||
        (r = hostfile_read(path, devno, sizeof(devno))) < 0)
        return r == -ENOENT ? vmrun_failx(err, ENOENT, "no USB device at port %s", port)
                            : vmrun_fail(err, -r, "USB device %s: reading its dev", port);
    if (sscanf(devno, "%u:%u", &out->major, &out->minor) != 2)
        return vmrun_failx(err, EINVAL, "USB device %s: dev is \"%s\"", port, devno);
    read_string(port, "serial", out->serial, sizeof(out->serial));
    read_string(port, "manufacturer", out->manufacturer, sizeof(out->manufacturer));
    read_string(port, "product", out->name, sizeof(out->name));
    read_string(port, "speed", out->speed, sizeof(out->speed));
    char config[16];
    read_string(port, "bConfigurationValue", config, sizeof(config));
    out->configured = config[0] != '\0' && strcmp(config, "0") != 0;
    add_class(out, out->device_class);
    read_interface_classes(port, out);
    read_peer(port, out->peer, sizeof(out->peer), &out->port_linked);
    return 0;
}

/* Port order: bus, then each port number, numerically ("1-10" after
 * "1-9"). */
static int port_cmp(const char *a, const char *b)
{
    while (*a != '\0' && *b != '\0') {
        char *ea, *eb;
        unsigned long x = strtoul(a, &ea, 10), y = strtoul(b, &eb, 10);
        if (x != y)
            return x < y ? -1 : 1;
        a = ea;
        b = eb;
        if (*a != '\0')
            a++;
        if (*b != '\0')
            b++;
    }
    return (*a != '\0') - (*b != '\0');
}

static int dev_cmp(const void *x, const void *y)
{
    return port_cmp(((const struct usb_dev *)x)->port, ((const struct usb_dev *)y)->port);
}

/* Every device, or with match != NULL those it accepts. */
static int list_devices(bool (*match)(const struct usb_dev *, const void *), const void *ctx,
                        struct usb_dev **out, size_t *n, struct vmrun_error *err)
{
    *out = NULL;
    *n = 0;
    char path[PATH_MAX];
    if (host_path(path, sizeof(path), HOST_SYS, "/bus/usb/devices") < 0)
        return vmrun_failx(err, ENAMETOOLONG, "sysfs root too long");
    cleanup_closedir DIR *d = opendir(path);
    if (d == NULL)
        return errno == ENOENT ? 0 : vmrun_fail(err, errno, "open %s", path);
    size_t cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        /* Interfaces are "1-4:1.0"; root hubs "usb1". */
        if (!profile_usb_port_valid(e->d_name))
            continue;
        struct usb_dev dev;
        struct vmrun_error ignored = {0};
        if (usb_dev_read(e->d_name, &dev, &ignored) < 0)
            continue; /* gone meanwhile, or unreadable: not a device to offer */
        if (match != NULL && !match(&dev, ctx))
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            struct usb_dev *grown = realloc(*out, cap * sizeof(**out));
            if (grown == NULL) {
                free(*out);
                *out = NULL;
                *n = 0;
                return vmrun_fail(err, ENOMEM, "listing USB devices");
            }
            *out = grown;
        }
        (*out)[(*n)++] = dev;
    }
    if (*n > 1)
        qsort(*out, *n, sizeof(**out), dev_cmp);
    return 0;
}

int usb_dev_list(struct usb_dev **out, size_t *n, struct vmrun_error *err)
{
    return list_devices(NULL, NULL, out, n, err);
}

static bool same_ids(const struct usb_dev *d, const void *ctx)
{
    const unsigned *ids = ctx;
    return d->vendor == ids[0] && d->product == ids[1];
}

int usb_dev_find_ids(unsigned vendor, unsigned product, struct usb_dev **out, size_t *n,
                     struct vmrun_error *err)
{
    const unsigned ids[2] = {vendor, product};
    return list_devices(same_ids, ids, out, n, err);
}

int usb_dev_sysfs_dir(const struct usb_dev *d, char *buf, size_t len, struct vmrun_error *err)
{
    char path[PATH_MAX], real[PATH_MAX];
    if (host_path(path, sizeof(path), HOST_SYS, "/bus/usb/devices/%s", d->port) < 0)
        return vmrun_failx(err, ENAMETOOLONG, "sysfs root too long");
    if (realpath(path, real) == NULL)
        return vmrun_fail(err, errno, "USB device %s", d->port);
    if (strlen(real) >= len)
        return vmrun_failx(err, ENAMETOOLONG, "USB device %s: path too long", d->port);
    snprintf(buf, len, "%s", real);
    return 0;
}

void usb_dev_describe(const struct usb_dev *d, char *buf, size_t len)
{
    const char *what = d->name[0] != '\0' ? d->name : d->manufacturer;
    snprintf(buf, len, "%s (%04x:%04x%s%s)", d->port, d->vendor, d->product, what[0] ? " " : "",
             what);
}

int usb_dev_open(const struct usb_dev *d, struct vmrun_error *err)
{
    char path[PATH_MAX];
    if (host_path(path, sizeof(path), HOST_DEV, "/bus/usb/%03u/%03u", d->busnum, d->devnum) < 0)
        return vmrun_failx(err, ENAMETOOLONG, "/dev root too long");
    /* Root's node in root's /dev: opened as root, but never through a
     * link, and checked to be what sysfs says before it is used. */
    cleanup_close int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
    if (fd < 0) {
        int e = errno;
        if (e == ENOENT || e == ENODEV || e == ENXIO)
            return vmrun_failx(err, ENOENT, "USB device %s is gone (%s: %s)", d->port, path,
                               strerror(e));
        return vmrun_fail(err, e, "open %s", path);
    }
    struct stat st;
    if (fstat(fd, &st) < 0)
        return vmrun_fail(err, errno, "fstat %s", path);
    if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != d->major || minor(st.st_rdev) != d->minor)
        return vmrun_failx(err, EINVAL,
                           "%s is not the node of USB device %s (character device %u:%u)", path,
                           d->port, d->major, d->minor);
    /* The device descriptor, read through the node: the device sysfs
     * described is the one this fd reaches. pread leaves the offset at 0
     * for QEMU, which shares this open file. */
    unsigned char desc[18];
    ssize_t n = pread(fd, desc, sizeof(desc), 0);
    if (n < 0) {
        int e = errno;
        if (e == ENODEV)
            return vmrun_failx(err, ENODEV, "USB device %s is gone", d->port);
        return vmrun_fail(err, e, "read the device descriptor of %s", path);
    }
    unsigned vendor = n >= 12 ? (unsigned)(desc[8] | desc[9] << 8) : 0;
    unsigned product = n >= 12 ? (unsigned)(desc[10] | desc[11] << 8) : 0;
    if (n < 12 || desc[1] != 1 /* DEVICE */ || vendor != d->vendor || product != d->product)
        return vmrun_failx(err, ENODEV,
                           "%s is no longer USB device %s %04x:%04x (its descriptor says "
                           "%04x:%04x)",
                           path, d->port, d->vendor, d->product, vendor, product);
    return steal_fd(&fd);
}
