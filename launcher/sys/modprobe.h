/* Loading a kernel module vmrun needs (vfio-pci, uinput).
 *
 * Loading is the one host change vmrun neither journals nor undoes: an
 * idle module does nothing by itself, unloading it could pull it from
 * under another VM, and the next start needs it again. modprobe is root's
 * (found in root's directories) and runs with a fixed environment
 * (sys/child_env.h): nothing of the caller's reaches it. */
#ifndef VMRUN_MODPROBE_H
#define VMRUN_MODPROBE_H

#include "base/error.h"

/* Run `modprobe module` (at most 30 s). 0 when it exited 0; -ENOENT with
 * err saying so (and what `why` needs it for) otherwise. */
int host_modprobe(const char *module, const char *why, struct vmrun_error *err);

#endif
