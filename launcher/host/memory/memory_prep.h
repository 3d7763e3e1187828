/* The guest-memory step of host preparation (journal/step.h): pick the NUMA
 * node, reserve hugepages there, create the hugetlbfs file and prefault it.
 * Fills hp->numa_node and hp->memory_file. Every change is journaled; its
 * undo ops are in memory_journal_ops. */
#ifndef VMRUN_MEMORY_PREP_H
#define VMRUN_MEMORY_PREP_H

#include "base/error.h"
#include "journal/journal.h"
#include "journal/step.h"

int memory_prepare(struct host_prep *hp, struct vmrun_error *err);

/* The node the guest memory goes on (memory.numa_node; -1 = auto: the node
 * of the first passed-through GPU, else of the first pinned vCPU, else 0).
 * `why` (may be NULL) gets a short reason for messages. */
int memory_pick_node(const struct vm_profile *p, int *node, char *why, size_t why_len,
                     struct vmrun_error *err);

extern const struct journal_op memory_journal_ops[];

#endif
