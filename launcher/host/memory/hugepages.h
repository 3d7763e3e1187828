/* The per-node hugepage pool: reserving the pages a VM needs on one NUMA
 * node, and giving back exactly what vmrun added.
 *
 * Pages already free in the pool are reused; only the shortfall is added,
 * by raising the node's nr_hugepages. The journal record ("hugepages-reserve")
 * holds the count before the change and how many pages vmrun meant to add;
 * the undo lowers the count by that many, never below the recorded "before",
 * so pages other users put in the pool are never taken away. Running the
 * undo twice, or for a change that never happened, finds nothing above
 * "before" that is vmrun's and leaves the pool alone. */
#ifndef VMRUN_HUGEPAGES_H
#define VMRUN_HUGEPAGES_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "journal/step.h"

struct hugepage_pool {
    unsigned long nr;   /* nodeN/.../nr_hugepages */
    unsigned long free; /* nodeN/.../free_hugepages */
};

struct hugepage_reservation {
    int node;
    unsigned page_kb;
    unsigned long wanted; /* pages the VM needs */
    unsigned long reused; /* free pages that were already in the pool */
    unsigned long before; /* nr_hugepages before vmrun changed it */
    unsigned long added;  /* pages vmrun added (0: nothing was changed) */
};

/* Read a node's pool for one page size. */
int hugepages_read_pool(int node, unsigned page_kb, struct hugepage_pool *out,
                        struct vmrun_error *err);

/* Make `pages` free pages of page_kb available on `node`, journaling before
 * changing the pool. On a shortfall: compact memory and retry; with
 * drop_caches also sync, drop the page cache, compact and retry; if still
 * short, give back what was added and fail with the figures. */
int hugepages_reserve(struct host_prep *hp, int node, unsigned page_kb, unsigned long pages,
                      bool drop_caches, struct hugepage_reservation *out, struct vmrun_error *err);

/* Lower the node's pool by what vmrun added, never below `before`. */
int hugepages_release(int node, unsigned page_kb, unsigned long before, unsigned long added,
                      struct vmrun_error *err);

/* Journal op "hugepages-reserve". */
int hugepages_undo(const cJSON *args, struct vmrun_error *err);
void hugepages_describe(const cJSON *args, char *buf, size_t len);

/* "2 MiB", "1 GiB" for a page size; "16.0 GiB" for a byte count. */
void hugepages_format_size(uint64_t bytes, char *buf, size_t len);

#endif
