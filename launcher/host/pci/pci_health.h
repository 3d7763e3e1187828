/* Device health around a VM: how the device is reset, whether it may
 * sleep in D3cold, and whether it still answers before its host driver
 * gets it back.
 *
 * Before binding (journaled first, like every change):
 *   - reset_method: the profile's pci[].reset_method, written to sysfs
 *     reset_method (op "pci-reset-method", undo: the methods it had). With
 *     no override, a display device gets "device_specific" when the
 *     vendor-reset module is loaded and the kernel accepts that method for
 *     it (vendor-reset handles the device: its AMD reset quirks run only
 *     through that method since Linux 5.15); a refusal leaves the kernel's
 *     methods as they were.
 *   - d3cold_allowed 0 while the VM has the device (op "pci-d3cold", undo:
 *     1): an idle GPU on vfio-pci may otherwise be put in D3cold, from
 *     which some never come back.
 *
 * After the VM, before the host driver is bound again (pci_give_back):
 * the device must answer its config space (vendor id not 0xffff). Binding
 * a driver to a device that does not answer can hang or crash the host,
 * so it is not done; the device is removed and the bus rescanned (the
 * kernel adds back only a device that answers), and otherwise the error
 * says what state it is in and what to do. */
#ifndef VMRUN_PCI_HEALTH_H
#define VMRUN_PCI_HEALTH_H

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"
#include "host/pci/pci_host.h"
#include "journal/journal.h"

/* Set up reset method and D3cold for one device about to be bound.
 * reset_override: the profile's methods (NULL: none; see above). say gets
 * what is worth telling (may be NULL). */
int pci_health_prepare(struct journal *j, const struct pci_dev_info *d, const char *reset_override,
                       void (*say)(void *, const char *), void *say_opaque,
                       struct vmrun_error *err);

/* Does the device answer? Reads the vendor id from its config space.
 * state gets what else sysfs says ("power state D3cold"). Returns 1
 * (answers), 0 (does not: vendor id 0xffff, or the read failed), or
 * -ENODEV when the device is not on the bus at all. */
int pci_health_answers(const char *address, char *state, size_t len);

/* The device did not answer: remove it and rescan the bus. Returns 1 when
 * it is back and answers, 0 when it is not (err says what to do), or a
 * negative errno when the remove or the rescan failed. */
int pci_health_revive(const char *address, const char *label, const char *driver,
                      const char *state, struct vmrun_error *err);

extern const struct journal_op pci_health_journal_ops[];

#endif
