/* Cleaning up after a dead supervisor. */
#ifndef VMRUN_RECOVER_H
#define VMRUN_RECOVER_H

#include "base/error.h"

/* For a VM whose runtime directory is stale (no live supervisor): kill a
 * QEMU that might still run (it cannot, see supervisor.h, but a pid file
 * says so, and a VM must never run unsupervised), undo its journal
 * reporting each step through say, and remove the directory. -EBUSY when
 * the VM is running. 0 when there was nothing to do. */
int vm_recover(const char *name, void (*say)(void *, const char *), void *opaque,
               struct vmrun_error *err);

#endif
