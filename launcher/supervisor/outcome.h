/* How a VM's run ended: the outcome the supervisor reports (to the CLI, to
 * `vmrun stop` through its reply, to the desktop notification), decided by
 * a pure function of what the supervisor saw while it watched QEMU. */
#ifndef VMRUN_OUTCOME_H
#define VMRUN_OUTCOME_H

#include <stdbool.h>

/* How the VM ended. */
enum vm_outcome {
    VM_NOT_STARTED,    /* failed before QEMU ran (err says why) */
    VM_GUEST_POWEROFF, /* the guest powered itself off */
    VM_STOPPED_ACPI,   /* a stop request; the guest honoured ACPI */
    VM_STOPPED_QUIT,   /* a stop request ended with quit */
    VM_STOPPED_KILLED, /* quit did not end QEMU: SIGKILL */
    VM_QEMU_FAILED,    /* QEMU exited with an error or was killed by someone else */
};

const char *vm_outcome_describe(enum vm_outcome o);

/* How far the stop sequence went (supervisor.h). */
enum vm_stop_stage {
    VM_STOP_NONE,      /* running: nobody asked it to stop */
    VM_STOP_POWERDOWN, /* system_powerdown (ACPI) sent, waiting for the guest */
    VM_STOP_QUIT,      /* quit sent, waiting for QEMU */
    VM_STOP_KILLED,    /* QEMU did not quit in time: SIGKILL sent */
};

/* What the supervisor saw of a run once QEMU has been reaped. */
struct vm_ending {
    bool lost;                     /* the supervisor could no longer wait for QEMU */
    bool tpm_died;                 /* swtpm ended while QEMU ran */
    enum vm_stop_stage stop_stage; /* how far a stop went */
    bool stop_requested;           /* a signal or `vmrun stop` asked for it */
    bool guest_shutdown;           /* QEMU reported a SHUTDOWN the guest made */
    int qemu_status;               /* QEMU's wait status */
};

/* The outcome of a run that got as far as running QEMU. Pure. */
enum vm_outcome vm_outcome_of(const struct vm_ending *e);

#endif
