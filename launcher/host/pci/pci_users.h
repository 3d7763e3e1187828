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
#include "sys/devnodes.h"

/* Processes holding the device's nodes (sys/devnodes.h says which). */
int pci_find_holders(const struct pci_dev_info *d, struct dev_holders *out,
                     struct vmrun_error *err);

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
 * negative errno when the host could not be examined. With handoff (the
 * profile hands the host's display to the VM: host/display), neither the
 * console on a display device nor the processes holding its nodes count:
 * the handoff takes them off first, and refuses what it cannot. */
int pci_find_users(const struct pci_dev_info *d, bool handoff, struct pci_users *out,
                   struct vmrun_error *err);

#endif
