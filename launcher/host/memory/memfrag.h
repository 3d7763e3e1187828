/* How fragmented a NUMA node's free memory is, from /proc/buddyinfo,
 * /proc/pagetypeinfo and /proc/zoneinfo: what decides how many hugepages
 * the kernel can make now, and how many compaction could make. Read-only;
 * used by `vmrun check` and by the hugepage shortfall message. */
#ifndef VMRUN_MEMFRAG_H
#define VMRUN_MEMFRAG_H

#include <stdint.h>

struct node_frag {
    uint64_t free_kb;        /* free memory of the zones that serve hugepages */
    uint64_t free_2m_kb;     /* of which in free blocks of 2 MiB or more */
    uint64_t free_4m_kb;     /* of which in free blocks of 4 MiB (the buddy's largest) */
    uint64_t reserve_kb;     /* the zones' min watermarks: never handed out */
    unsigned long blocks[4]; /* page blocks by type: FRAG_* (-1 fields: unknown) */
    unsigned long blocks_total;
    uint64_t free_movable_kb; /* free memory inside movable page blocks */
    unsigned block_kb;        /* a page block's size (2 MiB on x86-64) */
    int have_types;           /* pagetypeinfo was readable (root only) */
};

enum { FRAG_UNMOVABLE, FRAG_MOVABLE, FRAG_RECLAIMABLE, FRAG_OTHER };

/* 0, or -ENOENT when the node is not in buddyinfo. */
int memfrag_read(int node, struct node_frag *out);

/* 2 MiB pages a write to nr_hugepages would get now without compacting:
 * the free 2 MiB blocks above the watermarks. */
unsigned long memfrag_2m_now(const struct node_frag *f);

/* 2 MiB pages that compaction could make at most: the free memory above the
 * watermarks, less what sits in page blocks of unmovable or reclaimable
 * kernel memory (compaction moves only movable pages). */
unsigned long memfrag_2m_compacted(const struct node_frag *f);

#endif
