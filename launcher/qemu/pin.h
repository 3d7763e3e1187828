/* Pinning QEMU's threads to host CPUs: vCPU i to pin.vcpus[i], iothreads to
 * pin.iothreads, every other thread of the process to pin.emulator. Done
 * while the VM is paused (-S), so no vCPU runs an instruction unpinned. */
#ifndef VMRUN_PIN_H
#define VMRUN_PIN_H

#include <stddef.h>
#include <sys/types.h>

#include "base/error.h"
#include "profile/profile.h"

struct qemu_threads {
    pid_t vcpu[512]; /* thread id of vCPU i (cpu-index order) */
    size_t n_vcpu;
    pid_t io[64];
    size_t n_io;
};

/* Check that every vCPU and I/O thread id (as QMP reported them) is a
 * distinct thread of the process qemu. -EPROTO with err saying which is
 * not. pin_qemu() does this first. */
int pin_check_threads(pid_t qemu, const struct qemu_threads *t, struct vmrun_error *err);

/* Set the affinity of every thread of QEMU according to the profile; with
 * cpu.realtime, vCPU threads get SCHED_FIFO priority 1. Threads QEMU starts
 * later (e.g. worker pools) inherit the emulator thread's mask. */
int pin_qemu(pid_t qemu, const struct vm_profile *p, const struct qemu_threads *t,
             struct vmrun_error *err);

/* A thread's Cpus_allowed_list as the kernel reports it ("3" or "0-2,6").
 * Returns 0 or a negative errno. */
int pin_read_affinity(pid_t pid, pid_t tid, char *buf, size_t len);

/* Format a CPU list as "0,6" (profile order). */
void cpu_list_format(const struct cpu_list *l, char *buf, size_t len);

#endif
