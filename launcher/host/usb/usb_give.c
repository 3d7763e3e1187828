/* A USB device given to the VM: its record and undo (usb_give.h). */
#include "host/usb/usb_give.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/text.h"
#include "journal/opargs.h"
#include "sys/hostpath.h"
#include "sys/timed_write.h"

#define OP_USB "usb-attach"

int usb_give_record(struct journal *j, const struct usb_dev *d, const char *id,
                    struct vmrun_error *err)
{
    cJSON *args = cJSON_CreateObject();
    if (args == NULL || cJSON_AddStringToObject(args, "id", id) == NULL ||
        cJSON_AddStringToObject(args, "port", d->port) == NULL ||
        cJSON_AddNumberToObject(args, "busnum", d->busnum) == NULL ||
        cJSON_AddNumberToObject(args, "devnum", d->devnum) == NULL ||
        cJSON_AddNumberToObject(args, "vendor", d->vendor) == NULL ||
        cJSON_AddNumberToObject(args, "product", d->product) == NULL) {
        cJSON_Delete(args);
        return vmrun_fail(err, ENOMEM, "journal record for USB device %s", d->port);
    }
    return journal_record(j, OP_USB, args, err);
}

int usb_give_back(const struct usb_dev *d, char *names, size_t len, struct vmrun_error *err)
{
    names[0] = '\0';
    struct usb_dev now;
    struct vmrun_error ignored = {0};
    /* Gone, or another enumeration at its port: nothing of ours is left. */
    if (usb_dev_read(d->port, &now, &ignored) < 0 || now.busnum != d->busnum ||
        now.devnum != d->devnum || now.vendor != d->vendor || now.product != d->product)
        return 0;
    char dir[PATH_MAX], probe[PATH_MAX];
    if (host_path(dir, sizeof(dir), HOST_SYS, "/bus/usb/devices/%s", d->port) < 0 ||
        host_path(probe, sizeof(probe), HOST_SYS, "/bus/usb/drivers_probe") < 0)
        return vmrun_failx(err, ENAMETOOLONG, "sysfs root too long");
    cleanup_closedir DIR *dd = opendir(dir);
    if (dd == NULL)
        return 0;
    size_t plen = strlen(d->port);
    int first = 0;
    struct dirent *e;
    while ((e = readdir(dd)) != NULL) {
        if (strncmp(e->d_name, d->port, plen) != 0 || e->d_name[plen] != ':')
            continue;
        char driver[PATH_MAX];
        if (host_path(driver, sizeof(driver), HOST_SYS, "/bus/usb/devices/%s/%s/driver",
                      d->port, e->d_name) < 0)
            continue;
        char target[8];
        if (readlink(driver, target, sizeof(target)) >= 0)
            continue; /* it has a driver */
        struct vmrun_error one = {0};
        int r = timed_write(probe, e->d_name, 0, NULL, &one);
        if (r < 0 && first == 0) {
            first = r;
            *err = one;
        }
        if (r == 0)
            text_append(names, len, "%s%s", names[0] ? ", " : "", e->d_name);
    }
    return first;
}

static int read_record(const cJSON *args, struct usb_dev *d)
{
    long busnum, devnum, vendor, product;
    const char *port = oparg_string(args, "port");
    if (port == NULL || !profile_usb_port_valid(port) || oparg_long(args, "busnum", 1, 255, &busnum) < 0 ||
        oparg_long(args, "devnum", 1, 255, &devnum) < 0 ||
        oparg_long(args, "vendor", 0, 0xffff, &vendor) < 0 ||
        oparg_long(args, "product", 0, 0xffff, &product) < 0)
        return -EINVAL;
    *d = (struct usb_dev){.busnum = (unsigned)busnum,
                          .devnum = (unsigned)devnum,
                          .vendor = (unsigned)vendor,
                          .product = (unsigned)product};
    snprintf(d->port, sizeof(d->port), "%s", port);
    return 0;
}

static int usb_undo(const cJSON *args, struct vmrun_error *err)
{
    struct usb_dev d;
    if (read_record(args, &d) < 0)
        return vmrun_failx(err, EINVAL, "malformed %s record", OP_USB);
    char names[512];
    int r = usb_give_back(&d, names, sizeof(names), err);
    if (r == 0 && names[0] != '\0')
        vmrun_failx(err, 0, "the host's drivers probed again for %s", names);
    return r < 0 ? r : 0;
}

static void usb_describe(const cJSON *args, char *buf, size_t len)
{
    struct usb_dev d;
    const char *id = oparg_string(args, "id");
    if (read_record(args, &d) < 0 || id == NULL) {
        snprintf(buf, len, "a USB device given to the VM (malformed record)");
        return;
    }
    snprintf(buf, len, "USB device %s (%04x:%04x) given to the VM as %s", d.port, d.vendor,
             d.product, id);
}

const struct journal_op usb_journal_ops[] = {
    {OP_USB, usb_undo, usb_describe},
    {NULL, NULL, NULL},
};
