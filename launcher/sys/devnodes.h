/* The /dev nodes through which processes use a PCI device (or the
 * firmware's framebuffer, a platform device), and the processes that hold
 * them open. Read-only.
 *
 * Shared by the PCI binding (a holder makes an unbind hang) and the display
 * handoff (the desktop holds the GPU's nodes until it is stopped), which are
 * sibling host resources: the facts live here, below both. */
#ifndef VMRUN_DEVNODES_H
#define VMRUN_DEVNODES_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/error.h"

/* A process with one of the device's nodes open. */
struct dev_holder {
    pid_t pid;
    char comm[32];
    char node[PATH_MAX]; /* the path under the /dev root */
    char cgroup[512];    /* its cgroup v2 path ("/system.slice/gdm.service"), "" if unknown */
};

struct dev_holders {
    struct dev_holder *items;
    size_t n;
};

/* Processes holding the nodes of the PCI device at address (driver "" for
 * none, group -1 for none): /dev/dri/cardN and renderDN listed in the
 * device's sysfs drm/ directory; /dev/fbN listed in its graphics/
 * directory; /dev/nvidiaN, nvidiactl, nvidia-modeset and nvidia-uvm for a
 * device on the nvidia driver; and /dev/vfio/GROUP for a device on
 * vfio-pci. Found by reading /proc/PID/fd links; processes that vanish
 * meanwhile are skipped. */
int devnodes_find_holders(const char *address, const char *driver, int group,
                          struct dev_holders *out, struct vmrun_error *err);
void devnodes_holders_free(struct dev_holders *h);

/* Processes holding the nodes of a platform device (device: the name under
 * /sys/bus/platform/devices, "simple-framebuffer.0"): /dev/dri/cardN listed
 * in its drm/ directory and /dev/fbN in its graphics/ directory. A firmware
 * framebuffer has them: simpledrm's DRM card and its fbdev emulation, or
 * efifb's fbN. */
int devnodes_find_platform_holders(const char *device, struct dev_holders *out,
                                   struct vmrun_error *err);

/* "Xorg (pid 812) has /dev/dri/card1 open, nvidia-smi (pid 900) has
 * /dev/nvidiactl open"; "" when there are none. */
void devnodes_holders_describe(const struct dev_holders *h, char *buf, size_t len);

/* True when the cgroup path has unit as one of its components
 * ("/system.slice/gdm.service" is in gdm.service). */
int devnodes_cgroup_has_unit(const char *cgroup, const char *unit);

#endif
