/* The host-CPU step of host preparation (journal/step.h): the cpufreq governor
 * (governor.h), then host isolation (isolate.h). Undo ops: cpu_journal_ops. */
#ifndef VMRUN_CPU_PREP_H
#define VMRUN_CPU_PREP_H

#include "base/error.h"
#include "journal/journal.h"
#include "journal/step.h"

int cpu_prepare(struct host_prep *hp, struct vmrun_error *err);

/* The host's online CPUs (/sys/devices/system/cpu/online). */
struct cpuset_bits;
int cpu_online_set(struct cpuset_bits *out, struct vmrun_error *err);

extern const struct journal_op cpu_journal_ops[];

#endif
