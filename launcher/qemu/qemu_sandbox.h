/* Does a QEMU binary support its seccomp sandbox (-sandbox)? */
#ifndef VMRUN_QEMU_SANDBOX_H
#define VMRUN_QEMU_SANDBOX_H

#include <stdbool.h>

/* The option the argv builder adds when this says yes. */
#define QEMU_SANDBOX_ARG "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"

/* True when the kernel has seccomp and `qemu_binary -sandbox QEMU_SANDBOX_ARG
 * -version` exits 0: QEMU parses -sandbox (checking the option exists in
 * this build and knows every parameter we pass) before it handles -version,
 * and a build without seccomp says "-sandbox is not supported". Costs one
 * short exec (about 10 ms, bounded by 5 s); the answer for the last binary
 * asked about is kept for the life of the process. A binary name without
 * '/' is looked up in PATH. */
bool qemu_supports_sandbox(const char *qemu_binary);

#endif
