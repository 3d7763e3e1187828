/* What on the host sits below a device in sysfs and is in use: file
 * systems mounted from its disks, active swap on them, network interfaces
 * that are up. Read-only.
 *
 * A device given to a VM (a PCI function, a USB device) disappears from the
 * host: whatever lives below it in sysfs goes with it. Shared by the PCI
 * devices (host/pci/pci_users.c) and the USB devices (host/usb/), sibling
 * host resources, so the facts live here, below both. */
#ifndef VMRUN_DEV_USERS_H
#define VMRUN_DEV_USERS_H

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"

/* Whether the sysfs object at path (a /sys/class/block or /sys/class/net
 * entry, below the sysfs root) resolves below devdir, a device's resolved
 * sysfs directory. */
bool dev_users_below(const char *path, const char *devdir);

/* The block devices below devdir (and what is stacked on them: device
 * mapper, md) that are mounted or active swap, in words:
 * "sdb1 is mounted on /mnt/usb; sdb2 is active swap", or "" for none.
 * Taking such a device loses data. 0, or a negative errno with err set. */
int dev_users_storage(const char *devdir, char *found, size_t len, struct vmrun_error *err);

/* The network interfaces below devdir whose operstate is "up", as
 * "eth1, wlan0", or "" for none. 0, or a negative errno with err set. */
int dev_users_network(const char *devdir, char *up, size_t len, struct vmrun_error *err);

#endif
