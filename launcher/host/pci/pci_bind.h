/* Giving PCI devices to the VM (vfio-pci) and back to their host drivers.
 *
 * Each device taken is one journal record, op "pci-bind", written and
 * fsync'd before the device is touched:
 *   {"address":"0000:01:00.0", "name":"NVIDIA Corporation TU102 [...]",
 *    "driver":"nvidia" | null, "override":null | "...", "group":1}
 * Its undo (pci_give_back) is idempotent and accepts a bind that stopped
 * anywhere half way. */
#ifndef VMRUN_PCI_BIND_H
#define VMRUN_PCI_BIND_H

#include <cjson/cJSON.h>

#include "base/error.h"
#include "host/pci/pci_host.h"
#include "journal/journal.h"
#include "journal/step.h"

/* The plan step: resolve the profile's devices, check their IOMMU groups
 * (taking whole groups where pci[].take_group says so) and their users on
 * the host, load vfio-pci if needed, then bind every device, journaling each
 * first. Fills hp->vfio_groups. Nothing is changed before every check has
 * passed; on a later failure the caller undoes the journal. */
int pci_prepare(struct host_prep *hp, struct vmrun_error *err);

/* The first step of the plan: everything pci_prepare checks before it
 * binds (the devices and their groups, who uses them, their ROM files),
 * changing nothing, so that a profile the host cannot run is refused before
 * the display handoff stops anything. */
int pci_precheck(struct host_prep *hp, struct vmrun_error *err);

/* The read-only checks of pci_prepare (for `vmrun check` as well): fills
 * take[] with the devices to bind, in address order (the profile's devices
 * plus, with take_group, the rest of their groups) and returns how many, or
 * a negative errno with err explaining (IOMMU off, unknown address, group
 * not viable). Bridges are never in take[]. */
int pci_plan_devices(const struct vm_profile *p, const struct pci_host *h,
                     const struct pci_dev_info **take, size_t max, struct vmrun_error *err);

/* Refuse devices the host is using (pci_users.h). With force, what cannot
 * lose data is reported through say() instead of refused. With handoff,
 * the console on the display device is no use (the handoff unbinds it). */
int pci_check_users(const struct pci_dev_info *const *take, size_t n, bool force, bool handoff,
                    void (*say)(void *opaque, const char *msg), void *say_opaque,
                    struct vmrun_error *err);

/* Everything pci_prepare checks, changing nothing (for `vmrun check`):
 * scan, plan, users. A missing vfio-pci driver is not an error here
 * (pci_prepare loads it). Returns the number of devices that would be bound,
 * or a negative errno with err set. */
int pci_check(const struct vm_profile *p, bool force, void (*say)(void *opaque, const char *msg),
              void *say_opaque, struct vmrun_error *err);

/* Bind one device to vfio-pci, journaling first (not journaled and left
 * alone when it is already on vfio-pci). */
int pci_bind_device(struct journal *j, const struct pci_dev_info *d, struct vmrun_error *err);

/* The undo of "pci-bind": give the device back to its original driver
 * (driver NULL: leave it without one), restore driver_override. */
int pci_give_back(const char *address, const char *name, const char *driver, const char *override,
                  struct vmrun_error *err);

/* Load vfio-pci when <sysfs>/bus/pci/drivers/vfio-pci is absent. Under a
 * test sysfs root modprobe is not run (the simulated host has the driver
 * directory, or the test wants this error). */
int pci_load_vfio(struct vmrun_error *err);

extern const struct journal_op pci_journal_ops[];

#endif
