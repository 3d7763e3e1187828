/* The cpufreq governor of the VM's CPUs (cpu.governor): set for the run,
 * each CPU's previous governor journaled first ("cpu-governor") and put back
 * exactly afterwards. A host without cpufreq is told so and left alone. */
#ifndef VMRUN_GOVERNOR_H
#define VMRUN_GOVERNOR_H

#include <cjson/cJSON.h>

#include "base/error.h"
#include "journal/step.h"

int governor_apply(struct host_prep *hp, struct vmrun_error *err);

int governor_undo(const cJSON *args, struct vmrun_error *err);
void governor_describe(const cJSON *args, char *buf, size_t len);

#endif
