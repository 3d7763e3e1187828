/* USB devices of the host as sysfs shows them (/sys/bus/usb/devices, below
 * the sysfs root), and their device nodes. Read-only, but for opening a
 * node (usb_dev_open), which is what hands a device to QEMU.
 *
 * A device is named by its port path, the kernel's name for it: "1-4.2" is
 * bus 1, port 4 of that bus's root hub, then port 2 of the hub plugged in
 * there. A physical connector that speaks USB 3 is two ports, one on a
 * USB 2 bus and one on a SuperSpeed bus ("1-4" and "2-4"), which the
 * kernel links to each other (the "peer" of each port in sysfs): a USB 2
 * device plugged in there appears at one, a USB 3 device at the other. */
#ifndef VMRUN_USB_DEV_H
#define VMRUN_USB_DEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "profile/profile.h"

/* Port paths are the profile's (profile.h: profile_usb_port_valid). */
#define USB_PORT_MAX VM_USB_PORT_MAX

#define USB_CLASS_HUB 0x09

struct usb_dev {
    char port[USB_PORT_MAX]; /* "1-4.2" */
    char peer[USB_PORT_MAX]; /* the same connector's other port, "" when none */
    unsigned busnum, devnum; /* /dev/bus/usb/BBB/DDD */
    unsigned vendor, product;
    char serial[256];       /* the serial number string, "" when none */
    char manufacturer[128]; /* "" when none */
    char name[128];         /* the product string, "" when none */
    char speed[8];          /* Mb/s as the kernel says: "1.5", "12", "480", "5000", ... */
    unsigned device_class;  /* bDeviceClass */
    /* Bit c of classes[c / 32] is set when the device class or the class
     * of one of its interfaces (in the active configuration) is c. */
    uint32_t classes[8];
    bool configured;     /* a configuration is active: its interfaces exist */
    /* Its "port" link (to its hub port, and through it the peer) exists:
     * the kernel makes it just after announcing the device. */
    bool port_linked;
    unsigned major, minor; /* the device number of its node */
};

/* Does the device or one of its interfaces have class c? */
bool usb_dev_has_class(const struct usb_dev *d, unsigned c);

/* Read the device at port path port. 0; -ENOENT when no device is there
 * (or it went away while being read); another negative errno with err. */
int usb_dev_read(const char *port, struct usb_dev *out, struct vmrun_error *err);

/* Every device plugged in (root hubs, which are the controllers, left out),
 * in port order. The caller frees *out. */
int usb_dev_list(struct usb_dev **out, size_t *n, struct vmrun_error *err);

/* The devices with this vendor and product, as usb_dev_list(). */
int usb_dev_find_ids(unsigned vendor, unsigned product, struct usb_dev **out, size_t *n,
                     struct vmrun_error *err);

/* The device's sysfs directory, resolved (what sits below it belongs to
 * it): for sys/dev_users.h. */
int usb_dev_sysfs_dir(const struct usb_dev *d, char *buf, size_t len, struct vmrun_error *err);

/* "1-4.2 (046d:c52b Logitech USB Receiver)": for messages. */
void usb_dev_describe(const struct usb_dev *d, char *buf, size_t len);

/* Open the device's node, /dev/bus/usb/BBB/DDD (below the /dev root),
 * read-write, for QEMU. The node is root's, in a directory only root
 * changes; it is opened without following a link and must be the
 * character device sysfs names for d, and the device descriptor read back
 * through it must carry d's vendor and product: a device that went away
 * and another that took its number are told apart. Returns the fd
 * (O_CLOEXEC); -ENOENT or -ENODEV when the device is gone; another negative
 * errno with err set. */
int usb_dev_open(const struct usb_dev *d, struct vmrun_error *err);

#endif
