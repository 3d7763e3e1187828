/* How a VM's run ended (outcome.h). */
#include "supervisor/outcome.h"

#include <sys/wait.h>

const char *vm_outcome_describe(enum vm_outcome o)
{
    switch (o) {
    case VM_NOT_STARTED:
        return "the VM did not start";
    case VM_GUEST_POWEROFF:
        return "the guest powered off";
    case VM_STOPPED_ACPI:
        return "stopped: the guest powered off on the ACPI request";
    case VM_STOPPED_QUIT:
        return "stopped: QEMU was told to quit";
    case VM_STOPPED_KILLED:
        return "stopped: QEMU did not quit and was killed";
    case VM_QEMU_FAILED:
        return "QEMU ended unexpectedly";
    }
    return "unknown";
}

enum vm_outcome vm_outcome_of(const struct vm_ending *e)
{
    bool clean_exit = WIFEXITED(e->qemu_status) && WEXITSTATUS(e->qemu_status) == 0;
    if (e->lost)
        return VM_QEMU_FAILED;
    /* However QEMU then ended, the run failed: the guest lost its TPM. */
    if (e->tpm_died)
        return VM_QEMU_FAILED;
    if (e->stop_stage == VM_STOP_KILLED)
        return VM_STOPPED_KILLED;
    /* Quit ended it, unless the guest had powered off by itself meanwhile
     * (a SHUTDOWN the guest made). */
    if (e->stop_stage == VM_STOP_QUIT && !e->guest_shutdown)
        return VM_STOPPED_QUIT;
    if (e->stop_requested && clean_exit)
        return VM_STOPPED_ACPI;
    if (e->guest_shutdown && clean_exit)
        return VM_GUEST_POWEROFF;
    /* QEMU exited cleanly on its own. */
    if (clean_exit && e->stop_stage == VM_STOP_NONE)
        return VM_GUEST_POWEROFF;
    return VM_QEMU_FAILED;
}
