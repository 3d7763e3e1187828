/* Shared by the check_*.c files: building the report, and the checks of
 * each area. Not for use outside `vmrun check`. */
#ifndef VMRUN_CHECK_INTERNAL_H
#define VMRUN_CHECK_INTERNAL_H

#include <stddef.h>

#include "base/text.h"
#include "check/check.h"

/* Append a result; returns it so that a hint can follow, or NULL when out
 * of memory (r->oom is then set and the callers carry on: the report is
 * thrown away at the end). */
struct check_item *check_add(struct check_report *r, const char *name, enum check_result res,
                             const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Set the hint of a result (it may be NULL: nothing happens). */
void check_hint(struct check_report *r, struct check_item *it, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* check_qemu.c: the binary, its version, its audio and display backends. */
void check_qemu(const struct vm_profile *p, struct check_report *r);

/* check_memory.c: guest RAM or hugepages on the VM's node; RLIMIT_MEMLOCK. */
void check_memory(const struct vm_profile *p, struct check_report *r);
void check_memlock(const struct vm_profile *p, struct check_report *r);

/* check_handoff.c: the host display a handoff profile takes over. */
void check_handoff(const struct vm_profile *p, struct check_report *r);

/* check_firmware.c: the firmware chosen, the Secure Boot state of its
 * variables, SMM; swtpm and the TPM state. */
void check_firmware_tpm(const struct vm_profile *p, struct check_report *r);

/* check_pci.c: the IOMMU, vfio-pci and each device. */
void check_pci(const struct vm_profile *p, const struct check_options *opt, struct check_report *r);

/* check_network.c: the bridge or tap of each network entry, /dev/net/tun. */
void check_network(const struct vm_profile *p, struct check_report *r);

/* check_usb.c: QEMU's usb-host on a descriptor; what each usb[] rule takes now. */
void check_usb(const struct vm_profile *p, struct check_report *r);

/* check_input.c: each input[] entry's device now, uinput, the kernel, LEDs. */
void check_input(const struct vm_profile *p, struct check_report *r);

#endif
