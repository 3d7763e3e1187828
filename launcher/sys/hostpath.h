/* Every /sys, /proc, /dev and /run path vmrun reads or writes is built here.
 * The roots are compile-time defaults:
 *
 *   /sys, /proc, /dev
 *   /run/vmrun      the per-VM runtime directories (for a user other than
 *                   root: $XDG_RUNTIME_DIR/vmrun, or /tmp/vmrun-UID without
 *                   one)
 *   /var/lib/vmrun  what outlives a run (for a user other than root:
 *                   $XDG_STATE_HOME/vmrun or ~/.local/state/vmrun)
 *
 * Only the test build can move them (sys/seams.h), so tests point each root
 * at a simulated host; the installed program reads no variable that could.
 * libpci is handed the same sysfs root through its "sysfs.path" parameter
 * (see host/pci/pci_host.c). */
#ifndef VMRUN_HOSTPATH_H
#define VMRUN_HOSTPATH_H

#include <limits.h>
#include <stddef.h>

#ifndef VMRUN_DEFAULT_SYSFS_ROOT
#define VMRUN_DEFAULT_SYSFS_ROOT "/sys"
#endif
#ifndef VMRUN_DEFAULT_PROCFS_ROOT
#define VMRUN_DEFAULT_PROCFS_ROOT "/proc"
#endif
#ifndef VMRUN_DEFAULT_DEV_ROOT
#define VMRUN_DEFAULT_DEV_ROOT "/dev"
#endif
#ifndef VMRUN_DEFAULT_STATE_DIR
#define VMRUN_DEFAULT_STATE_DIR "/var/lib/vmrun"
#endif
#ifndef VMRUN_DEFAULT_RUN_DIR
#define VMRUN_DEFAULT_RUN_DIR "/run/vmrun"
#endif

enum host_root {
    HOST_SYS,
    HOST_PROC,
    HOST_DEV,
    HOST_RUN,   /* vmrun's own runtime directory, not /run itself */
    HOST_STATE, /* what outlives a run: per-VM OVMF vars, serial and last logs */
};

/* The root directory for one kind of path (no trailing slash). */
const char *host_root(enum host_root root);

/* Format "<root>/<fmt...>" into buf. fmt must start with '/'.
 * Returns 0, or -ENAMETOOLONG when it does not fit. */
int host_path(char *buf, size_t len, enum host_root root, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
