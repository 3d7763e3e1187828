/* Host isolation (cpu.isolate): keep host work off the VM's CPUs
 * (pin.vcpus) while it runs.
 *
 *  - cgroups: the root-level slices (init.scope, system.slice, user.slice)
 *    get cpuset.cpus = the other CPUs (cgroup v2; the cpuset hierarchy of v1
 *    where only v1 exists). vmrun itself, and so QEMU, first moves out of a
 *    restricted slice into its own cgroup, or its vCPU threads could not be
 *    pinned to the VM's CPUs.
 *  - the unbound and writeback workqueues' cpumask;
 *  - IRQ affinities (/proc/irq/N/smp_affinity_list) and the default one for
 *    new IRQs. IRQs that refuse a new affinity (per-CPU ones) are skipped.
 *
 * Each group of changes is one journal record holding every previous value;
 * its undo writes back each value that differs, so it is idempotent.
 *
 * One VM isolates at a time ("isolate-claim", see isolate.c): a second
 * VM with cpu.isolate is refused while the first runs, or while a dead
 * supervisor's isolation has not been recovered. */
#ifndef VMRUN_ISOLATE_H
#define VMRUN_ISOLATE_H

#include <cjson/cJSON.h>

#include "base/error.h"
#include "journal/step.h"

int isolate_apply(struct host_prep *hp, struct vmrun_error *err);

/* Journal ops: "isolate-claim", "cgroup-controller", "cgroup-move",
 * "cgroup-cpuset", "workqueue-cpumask", "irq-affinity". */
int isolate_controller_undo(const cJSON *args, struct vmrun_error *err);
void isolate_controller_describe(const cJSON *args, char *buf, size_t len);
int isolate_move_undo(const cJSON *args, struct vmrun_error *err);
void isolate_move_describe(const cJSON *args, char *buf, size_t len);
int isolate_cpuset_undo(const cJSON *args, struct vmrun_error *err);
void isolate_cpuset_describe(const cJSON *args, char *buf, size_t len);
int isolate_workqueue_undo(const cJSON *args, struct vmrun_error *err);
void isolate_workqueue_describe(const cJSON *args, char *buf, size_t len);
int isolate_irq_undo(const cJSON *args, struct vmrun_error *err);
void isolate_irq_describe(const cJSON *args, char *buf, size_t len);
int isolate_claim_undo(const cJSON *args, struct vmrun_error *err);
void isolate_claim_describe(const cJSON *args, char *buf, size_t len);

#endif
