/* What the host's PCI devices are: libpci for identities and pci.ids names,
 * sysfs for the facts libpci does not keep current (driver, IOMMU group,
 * boot VGA, reset method). Read-only: nothing here changes the host.
 *
 * libpci reads the same sysfs root as the rest of vmrun (hostpath.h): it is
 * given "<sysfs root>/bus/pci" through its "sysfs.path" parameter, with the
 * sysfs access method forced, so a simulated host works end to end. */
#ifndef VMRUN_PCI_HOST_H
#define VMRUN_PCI_HOST_H

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"

#define PCI_ADDR_LEN 13 /* "DDDD:BB:SS.F" + NUL */
#define PCI_NAME_MAX 256
#define PCI_DRIVER_MAX 64

#define PCI_IOMMU_OFF_MSG                                                                          \
    "the IOMMU is off: enable VT-d / AMD-Vi in the firmware and boot with intel_iommu=on or "      \
    "amd_iommu=on"

struct pci_dev_info {
    char address[PCI_ADDR_LEN];
    unsigned domain, bus, slot, func;
    unsigned vendor, device;
    unsigned class_code;           /* base class and subclass: 0x0300 VGA, 0x0604 PCI bridge */
    char name[PCI_NAME_MAX];       /* "NVIDIA Corporation TU102 [GeForce RTX 2080 Ti]" */
    char class_name[PCI_NAME_MAX]; /* "VGA compatible controller" */
    char driver[PCI_DRIVER_MAX];   /* "" when no driver is bound */
    int iommu_group;               /* -1 when the device has none */
    int numa_node;                 /* -1 when unknown */
    char reset_method[64];         /* sysfs reset_method, "" when absent */
    bool boot_vga;
};

/* A snapshot of every PCI device, sorted by address. */
struct pci_host {
    struct pci_dev_info *devs;
    size_t n;
};

/* Scan the host. Fails (-ENOENT with a message) when sysfs has no PCI bus. */
int pci_host_scan(struct pci_host *h, struct vmrun_error *err);
void pci_host_free(struct pci_host *h);

/* The device at a normalised address, or NULL. */
const struct pci_dev_info *pci_host_find(const struct pci_host *h, const char *address);

/* "0000:01:00.0 NVIDIA Corporation TU102 [GeForce RTX 2080 Ti]" */
const char *pci_dev_label(const struct pci_dev_info *d, char *buf, size_t len);

/* Bridges do not need to go to the VM with their group (PCI-to-PCI and
 * CardBus bridges; the kernel's vfio lets them stay on pcieport). */
bool pci_is_bridge(const struct pci_dev_info *d);

/* True when the host has IOMMU groups at all (<sysfs>/kernel/iommu_groups
 * has entries). */
bool pci_iommu_enabled(void);

/* The current driver of a device ("" for none). 0, or a negative errno when
 * the device does not exist. */
int pci_current_driver(const char *address, char *buf, size_t len);

/* The IOMMU group of a device, -1 when it has none. */
int pci_iommu_group(const char *address);

/* Members of a group, in address order, from the snapshot: fills up to max
 * pointers, returns how many there are. */
size_t pci_group_members(const struct pci_host *h, int group, const struct pci_dev_info **out,
                         size_t max);

/* Normalise "01:00.0" or "0000:01:00.0" to "0000:01:00.0". 0 or -EINVAL. */
int pci_normalize_address(const char *in, char out[PCI_ADDR_LEN]);

#endif
