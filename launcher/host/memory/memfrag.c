/* Free-memory fragmentation per node (memfrag.h). */
#include "host/memory/memfrag.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "sys/hostpath.h"

/* The DMA zone (the first 16 MiB) never serves hugepages. */
static bool zone_serves_hugepages(const char *zone)
{
    return strcmp(zone, "DMA") != 0;
}

static FILE *open_proc(const char *name)
{
    char path[PATH_MAX];
    if (host_path(path, sizeof(path), HOST_PROC, "/%s", name) < 0)
        return NULL;
    return fopen(path, "re");
}

/* The free memory in a row of free block counts by order (order 0 first,
 * as buddyinfo and pagetypeinfo print them), counting only blocks of at
 * least min_block_kb. */
static uint64_t free_kb_by_order(const char *counts, uint64_t page_kb, uint64_t min_block_kb)
{
    uint64_t kb = 0;
    for (unsigned o = 0; o < 40; o++) {
        char *end;
        unsigned long long c = strtoull(counts, &end, 10);
        if (end == counts)
            break;
        counts = end;
        if ((page_kb << o) >= min_block_kb)
            kb += (uint64_t)c * (page_kb << o);
    }
    return kb;
}

/* "Node 0, zone   Normal  5697 2066 ...": free blocks per order. */
static int read_buddyinfo(int node, struct node_frag *f, uint64_t page_kb)
{
    cleanup_fclose FILE *in = open_proc("buddyinfo");
    if (in == NULL)
        return -errno;
    char line[1024];
    bool seen = false;
    while (fgets(line, sizeof(line), in) != NULL) {
        int n, off = 0;
        char zone[32];
        if (sscanf(line, "Node %d, zone %31s%n", &n, zone, &off) != 2 || n != node ||
            !zone_serves_hugepages(zone))
            continue;
        seen = true;
        f->free_kb += free_kb_by_order(line + off, page_kb, 0);
        f->free_2m_kb += free_kb_by_order(line + off, page_kb, 2048);
        f->free_4m_kb += free_kb_by_order(line + off, page_kb, 4096);
    }
    return seen ? 0 : -ENOENT;
}

static int type_index(const char *name)
{
    if (strcmp(name, "Unmovable") == 0)
        return FRAG_UNMOVABLE;
    if (strcmp(name, "Movable") == 0)
        return FRAG_MOVABLE;
    if (strcmp(name, "Reclaimable") == 0)
        return FRAG_RECLAIMABLE;
    return FRAG_OTHER;
}

/* /proc/pagetypeinfo (root only): the page block size, the free pages per
 * type and order, and the number of page blocks of each type. */
static void read_pagetypeinfo(int node, struct node_frag *f, uint64_t page_kb)
{
    cleanup_fclose FILE *in = open_proc("pagetypeinfo");
    if (in == NULL)
        return;
    char line[1024], header[64][24];
    int ntypes = 0;
    bool counts = false;
    while (fgets(line, sizeof(line), in) != NULL) {
        unsigned order;
        if (sscanf(line, "Page block order: %u", &order) == 1) {
            f->block_kb = (unsigned)(page_kb << order);
            continue;
        }
        if (strncmp(line, "Number of blocks type", 21) == 0) {
            /* The column names follow: Unmovable Movable Reclaimable ... */
            counts = true;
            ntypes = 0;
            char *save = NULL;
            for (char *t = strtok_r(line + 21, " \t\n", &save); t != NULL && ntypes < 64;
                 t = strtok_r(NULL, " \t\n", &save))
                snprintf(header[ntypes++], sizeof(header[0]), "%s", t);
            continue;
        }
        int n, off = 0;
        char zone[32], type[32];
        if (!counts &&
            sscanf(line, "Node %d, zone %31s type %31s%n", &n, zone, type, &off) == 3) {
            if (n != node || !zone_serves_hugepages(zone) || strcmp(type, "Movable") != 0)
                continue;
            f->free_movable_kb += free_kb_by_order(line + off, page_kb, 0);
            continue;
        }
        if (counts && sscanf(line, "Node %d, zone %31s%n", &n, zone, &off) == 2) {
            if (n != node || !zone_serves_hugepages(zone))
                continue;
            char *s = line + off;
            for (int i = 0; i < ntypes; i++) {
                char *end;
                unsigned long c = strtoul(s, &end, 10);
                if (end == s)
                    break;
                s = end;
                f->blocks[type_index(header[i])] += c;
                f->blocks_total += c;
            }
            f->have_types = 1;
        }
    }
}

/* The zones' "min" watermarks, in pages, from /proc/zoneinfo. */
static void read_watermarks(int node, struct node_frag *f, uint64_t page_kb)
{
    cleanup_fclose FILE *in = open_proc("zoneinfo");
    if (in == NULL)
        return;
    char line[512];
    bool ours = false;
    while (fgets(line, sizeof(line), in) != NULL) {
        int n;
        char zone[32];
        if (sscanf(line, "Node %d, zone %31s", &n, zone) == 2) {
            ours = n == node && zone_serves_hugepages(zone);
            continue;
        }
        unsigned long min;
        if (ours && sscanf(line, " min %lu", &min) == 1)
            f->reserve_kb += (uint64_t)min * page_kb;
    }
}

int memfrag_read(int node, struct node_frag *out)
{
    memset(out, 0, sizeof(*out));
    long ps = sysconf(_SC_PAGESIZE);
    uint64_t page_kb = ps > 0 ? (uint64_t)ps / 1024 : 4;
    int r = read_buddyinfo(node, out, page_kb);
    if (r < 0)
        return r;
    out->block_kb = 2048;
    read_pagetypeinfo(node, out, page_kb);
    read_watermarks(node, out, page_kb);
    return 0;
}

static uint64_t above_reserve(uint64_t kb, const struct node_frag *f)
{
    return kb > f->reserve_kb ? kb - f->reserve_kb : 0;
}

unsigned long memfrag_2m_now(const struct node_frag *f)
{
    /* The watermark is kept in whatever pieces the zone has; count it
     * against the large blocks only when the small ones cannot hold it. */
    uint64_t small = f->free_kb - f->free_2m_kb;
    uint64_t usable = small >= f->reserve_kb ? f->free_2m_kb
                                             : above_reserve(f->free_kb, f);
    return (unsigned long)(usable / 2048);
}

unsigned long memfrag_2m_compacted(const struct node_frag *f)
{
    /* Compaction moves movable pages inside movable page blocks; free
     * memory in blocks that hold unmovable or reclaimable kernel pages stays
     * in pieces around them. */
    uint64_t kb = f->have_types ? f->free_movable_kb : f->free_kb;
    unsigned long pages = (unsigned long)(above_reserve(kb, f) / 2048);
    unsigned long now = memfrag_2m_now(f);
    return pages > now ? pages : now;
}
