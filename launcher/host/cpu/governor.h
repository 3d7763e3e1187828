/* The cpufreq governor of the VM's CPUs (cpu.governor): set for the run
 * as a claim in the governor ledger (governor_ledger.h), journaled first
 * ("cpu-governor-claim"); giving the claim up leaves each CPU with the
 * governor of the latest other VM that wants one there, or with the
 * host's own, whatever the order VMs stop in. A host without cpufreq is
 * told so and left alone. ("cpu-governor" is an older vmrun's record: each
 * CPU's previous governor, put back.) */
#ifndef VMRUN_GOVERNOR_H
#define VMRUN_GOVERNOR_H

#include <cjson/cJSON.h>

#include "base/error.h"
#include "journal/step.h"

int governor_apply(struct host_prep *hp, struct vmrun_error *err);

int governor_claim_undo(const cJSON *args, struct vmrun_error *err);
void governor_claim_describe(const cJSON *args, char *buf, size_t len);
int governor_undo(const cJSON *args, struct vmrun_error *err);
void governor_describe(const cJSON *args, char *buf, size_t len);

#endif
