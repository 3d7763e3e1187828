/* Who uses a PCI device on the host, checked before vmrun takes it away.
 * Read-only. Each finding says whether taking the device anyway could lose
 * data: --force overrides the others (a display going dark, a process
 * losing its GPU, a network link going down), never those (a mounted file
 * system or active swap on a disk below the device). */
#ifndef VMRUN_PCI_USERS_H
#define VMRUN_PCI_USERS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/error.h"
#include "host/pci/pci_host.h"

/* A process with one of the device's nodes open. */
struct pci_holder {
    pid_t pid;
    char comm[32];
    char node[PATH_MAX]; /* the path under the /dev root */
};

struct pci_holders {
    struct pci_holder *items;
    size_t n;
};

/* Processes holding the device's nodes: /dev/dri/cardN and renderDN listed
 * in the device's sysfs drm/ directory; /dev/nvidiaN, nvidiactl,
 * nvidia-modeset and nvidia-uvm for a device on the nvidia driver; and
 * /dev/vfio/GROUP for a device on vfio-pci. Found by reading /proc/PID/fd
 * links; processes that vanish meanwhile are skipped. */
int pci_find_holders(const struct pci_dev_info *d, struct pci_holders *out,
                     struct vmrun_error *err);
void pci_holders_free(struct pci_holders *h);

/* "Xorg (pid 812) has /dev/dri/card1 open, nvidia-smi (pid 900) has
 * /dev/nvidiactl open"; "" when there are none. */
void pci_holders_describe(const struct pci_holders *h, char *buf, size_t len);

enum pci_use {
    PCI_USE_PROCESSES, /* processes hold the device's nodes open */
    PCI_USE_CONSOLE,   /* the boot VGA device: it shows the console */
    PCI_USE_STORAGE,   /* mounted file systems or active swap below it */
    PCI_USE_NETWORK,   /* a network interface below it is up */
};

struct pci_user {
    enum pci_use kind;
    bool loses_data; /* true: refused even with --force */
    char msg[1024];  /* what and why, without the device name */
};

#define PCI_USERS_MAX 8

struct pci_users {
    struct pci_user items[PCI_USERS_MAX];
    size_t n;
};

/* Everything on the host that uses the device. 0 (out->n may be 0), or a
 * negative errno when the host could not be examined. */
int pci_find_users(const struct pci_dev_info *d, struct pci_users *out, struct vmrun_error *err);

#endif
