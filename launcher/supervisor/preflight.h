/* What must hold before `vmrun start` touches the host, for the firmware,
 * the TPM, USB and what QEMU must have: checked read-only, so that a VM that
 * cannot start says why and changes nothing.
 *
 *   SPICE      a "spice" display needs QEMU's SPICE support (a module
 *              package of its own from Debian 13 on: qemu/qemu_probe.h);
 *   firmware   chosen from the descriptors (qemu/firmware.h): a profile
 *              that contradicts the files it names is a profile error, a
 *              host without a matching build a host error;
 *   SMM        a firmware that requires it (Secure Boot) under KVM needs a
 *              KVM with SMM (KVM_CAP_X86_SMM; Linux builds it only with
 *              CONFIG_KVM_SMM); TCG always emulates it;
 *   variables  the VM's own variable store, when it exists, is the size of
 *              the firmware's template (a store made for another build
 *              does not boot);
 *   TPM        swtpm is installed and emulates TPM 2.0, and the VM's TPM
 *              state, when it exists, is right for QEMU's user
 *              (host/tpm/tpm.h);
 *   USB        with usb[] rules, QEMU's usb-host takes a device node vmrun
 *              opens (qemu/qemu_usb.h).
 *
 * `vmrun check` reports the same facts through the functions below. */
#ifndef VMRUN_PREFLIGHT_H
#define VMRUN_PREFLIGHT_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#include "base/error.h"
#include "profile/profile.h"
#include "qemu/firmware.h"

#define SWTPM_BINARY "swtpm"

struct swtpm_facts {
    char path[PATH_MAX]; /* where swtpm is */
    char version[32];    /* "0.7.1" */
    bool tpm2;           /* it emulates TPM 2.0 */
};

/* Find swtpm in PATH and ask it for its capabilities (`swtpm socket
 * --print-capabilities`). 0; -ENOENT when it is not installed; -ENOTSUP
 * when it has no TPM 2.0; another negative errno (err set) when it does
 * not answer. */
int swtpm_probe(struct swtpm_facts *f, struct vmrun_error *err);

/* Does this host's KVM emulate SMM? 1, 0, or a negative errno when KVM
 * cannot be asked (no /dev/kvm). */
int kvm_smm_supported(void);

/* The VM's state directory: <state root>/NAME. */
int vm_state_dir(const struct vm_profile *p, char *buf, size_t len);

/* Every check above for p, QEMU running as qemu_uid. 0 with fw filled;
 * -EINVAL for a profile error (exit 2), another negative errno for a host
 * error (exit 1); err says what and how to fix it. */
int vm_preflight(const struct vm_profile *p, uid_t qemu_uid, struct firmware_choice *fw,
                 struct vmrun_error *err);

#endif
