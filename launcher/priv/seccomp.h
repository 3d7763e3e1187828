/* Seccomp filters vmrun puts on its own children, for what QEMU's own
 * sandbox (-sandbox) does not cover.
 *
 * Each is a small classic-BPF program built here (no libseccomp: two short
 * filters do not need a library), installed with no_new_privs. Both refuse
 * every system call made through another ABI than the program's own (on
 * x86_64: the 32-bit int 0x80 entry and x32), so an argument check cannot
 * be passed by the other ABI's numbers: such a call kills the process. */
#ifndef VMRUN_SECCOMP_H
#define VMRUN_SECCOMP_H

#include <stddef.h>

#include "base/error.h"

/* For QEMU, when it reads vmrun's virtual input devices: an evdev grab, once
 * taken, cannot be let go, nor the device's access revoked: ioctl
 * EVIOCGRAB with 0 and EVIOCREVOKE fail with EPERM (host/input/input.h says
 * why). Everything else is left to QEMU's own sandbox. */
int seccomp_keep_evdev_grabs(struct vmrun_error *err);

/* An allow-list: the calls in nrs, and ioctl with one of the requests in
 * ioctls, mmap without PROT_EXEC and fcntl's F_GETFL/F_SETFL/F_GETFD/F_SETFD
 * when the list names them; any other call kills the process. For a
 * process that only moves data between descriptors it was given. */
int seccomp_allow_only(const int *nrs, size_t n_nrs, const unsigned long *ioctls, size_t n_ioctls,
                       struct vmrun_error *err);

#endif
