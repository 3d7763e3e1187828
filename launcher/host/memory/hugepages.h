/* The per-node hugepage pool: reserving the pages a VM needs on one NUMA
 * node, and giving back exactly what vmrun added.
 *
 * Pages already free in the pool are reused (a boot-time pool, pages the
 * administrator keeps); only the shortfall is added, by raising the node's
 * persistent count (nodeN/hugepages/hugepages-SIZEkB/nr_hugepages). What
 * vmrun added is a claim in the hugepage ledger (hugepage_ledger.h), named
 * by the journal record "hugepages-reserve"; its undo lowers the node's
 * count by exactly the claim's pages and removes the claim, so it is
 * idempotent and independent of the order in which VMs stop, and a pool
 * vmrun did not grow is never shrunk.
 *
 * When the kernel cannot make the pages at once (memory is fragmented),
 * hugepages_reserve() compacts the node, reclaims the node's page cache when
 * the profile allows it (memory.drop_caches), and retries for as long as
 * retrying makes progress, within a time bound; then it reports how far it
 * got and why. */
#ifndef VMRUN_HUGEPAGES_H
#define VMRUN_HUGEPAGES_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "host/memory/hugepage_ledger.h"
#include "journal/step.h"

struct hugepage_pool {
    unsigned long nr;      /* nodeN/.../nr_hugepages (persistent + surplus) */
    unsigned long free;    /* nodeN/.../free_hugepages */
    unsigned long surplus; /* nodeN/.../surplus_hugepages */
};

struct hugepage_reservation {
    int node;
    unsigned page_kb;
    unsigned long wanted; /* pages the VM needs */
    unsigned long reused; /* free pages that were already in the pool */
    unsigned long added;  /* pages vmrun added (0: nothing was changed) */
    double seconds;       /* time spent growing the pool */
    char how[160];        /* what it took: "", "after compacting node 0", ... */
};

/* How hard hugepages_reserve() tries. */
struct hugepage_policy {
    bool drop_caches;   /* memory.drop_caches: reclaim the node's page cache */
    double time_budget; /* seconds of retrying (0: the default, 10 s) */
};

/* Read a node's pool for one page size. */
int hugepages_read_pool(int node, unsigned page_kb, struct hugepage_pool *out,
                        struct vmrun_error *err);

/* The node's persistent page count (nr_hugepages less surplus pages), the
 * figure a write to nr_hugepages sets. -ENOENT: no such pool. */
int hugepages_persistent(int node, unsigned page_kb, unsigned long *out, struct vmrun_error *err);

/* The pages of page_kb that hold size bytes (rounded up). */
unsigned long hugepages_for_size(uint64_t size, unsigned page_kb);

/* What reserving `pages` pages of page_kb on `node` takes, counted as
 * hugepages_reserve() counts it; changes nothing. `vmrun check` asks the
 * same question, so that its verdict is what a start will do. */
struct hugepage_need {
    struct hugepage_pool pool;
    unsigned long usable;    /* free pages not promised to mappings (HugePages_Rsvd) */
    unsigned long shortfall; /* pages to add to the pool; 0 when usable covers them */
};
int hugepages_need(int node, unsigned page_kb, unsigned long pages, struct hugepage_need *out,
                   struct vmrun_error *err);

/* Make `pages` free pages of page_kb available on `node`, with the ledger
 * held (l locked), journaling before changing the pool. On a shortfall the
 * pool is put back and -ENOMEM returned with the figures in err. */
int hugepages_reserve(struct host_prep *hp, struct hp_ledger *l, int node, unsigned page_kb,
                      unsigned long pages, const struct hugepage_policy *policy,
                      struct hugepage_reservation *out, struct vmrun_error *err);

/* Journal op "hugepages-reserve". */
int hugepages_undo(const cJSON *args, struct vmrun_error *err);
void hugepages_describe(const cJSON *args, char *buf, size_t len);

/* "2 MiB", "1 GiB" for a page size; "16.0 GiB" for a byte count. */
void hugepages_format_size(uint64_t bytes, char *buf, size_t len);

#endif
