/* Small sysfs primitives for the PCI modules: read an attribute, read where
 * a link points, and write an attribute the way the kernel needs it.
 *
 * Every write vmrun makes to sysfs goes through pci_sysfs_write(), which is
 * sys/timed_write.h's writer: one open()+write()+close() in a child
 * process, waited for with a timeout. Unbinding a driver (and anything else
 * that takes the device lock while an unbind is stuck) can block in the
 * kernel for as long as something holds the device; the child takes that
 * risk instead of vmrun. */
#ifndef VMRUN_PCI_SYSFS_H
#define VMRUN_PCI_SYSFS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/error.h"

/* The time a sysfs write may take before vmrun gives up on it
 * (timed_write_limit_ms()). */
int pci_sysfs_write_timeout_ms(void);

/* Write value to path in a child process. Returns 0; -ETIMEDOUT when the
 * child did not finish in time (*stuck, when not NULL, gets its pid: it was
 * sent SIGKILL, which the kernel delivers only once the write returns, and is
 * not waited for); or the negative errno of the open or the write. err names
 * the path and the value. */
int pci_sysfs_write(const char *path, const char *value, pid_t *stuck, struct vmrun_error *err);

/* Read a small attribute into buf, without the trailing newline. Returns 0
 * or a negative errno (buf is then ""). */
int pci_sysfs_read(const char *path, char *buf, size_t len);

/* The last component of a symlink's target ("vfio-pci" for
 * .../driver -> ../../../bus/pci/drivers/vfio-pci). Returns 0, -ENOENT when
 * there is no link, or another negative errno; buf is "" on failure. */
int pci_sysfs_link_name(const char *path, char *buf, size_t len);

/* The path of attribute attr of the PCI device at address
 * (/sys/bus/pci/devices/ADDRESS/ATTR, below the sysfs root). Returns 0 or
 * -ENAMETOOLONG. */
int pci_sysfs_attr_path(char *buf, size_t len, const char *address, const char *attr);

/* True when path exists (any type; links are not followed). */
bool pci_sysfs_exists(const char *path);

#endif
