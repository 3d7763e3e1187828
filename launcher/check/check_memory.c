/* `vmrun check`: guest memory, hugepages on the VM's NUMA node, and
 * RLIMIT_MEMLOCK (check.h). */
#include <cap-ng.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "check/check.h"
#include "check/check_internal.h"
#include "base/cpulist.h"
#include "host/memory/hugepages.h"
#include "host/memory/memfrag.h"
#include "host/memory/memory_prep.h"
#include "priv/priv_drop.h"
#include "sys/hostfile.h"
#include "sys/hostpath.h"

#define KIB UINT64_C(1024)

/* ---- memory and hugepages ---- */

/* One "Key: N kB" figure from a meminfo file (the node's lines start with
 * "Node N "). -1 when absent. */
static long long meminfo_kb(const char *path, const char *key)
{
    cleanup_fclose FILE *f = fopen(path, "re");
    if (f == NULL)
        return -1;
    char line[256];
    size_t klen = strlen(key);
    while (fgets(line, sizeof(line), f) != NULL) {
        char *s = line;
        if (strncmp(s, "Node ", 5) == 0) {
            s += 5;
            s += strspn(s, "0123456789");
            s += strspn(s, " ");
        }
        if (strncmp(s, key, klen) == 0 && s[klen] == ':')
            return strtoll(s + klen + 1, NULL, 10);
    }
    return -1;
}

/* Per node: how fragmented free memory is (buddyinfo, pagetypeinfo) and
 * the largest reservation of each page size that would succeed now. */
static void check_fragmentation(struct check_report *r)
{
    char path[PATH_MAX], online[256];
    struct cpuset_bits nodes;
    if (host_path(path, sizeof(path), HOST_SYS, "/devices/system/node/online") < 0 ||
        hostfile_read(path, online, sizeof(online)) < 0 || cpulist_parse(online, &nodes) < 0) {
        cpuset_zero(&nodes);
        cpuset_add(&nodes, 0);
    }
    for (int node = cpuset_next(&nodes, 0); node >= 0; node = cpuset_next(&nodes, (unsigned)node + 1)) {
        struct node_frag f;
        char name[32];
        snprintf(name, sizeof(name), "memory node %d", node);
        if (memfrag_read(node, &f) < 0) {
            check_add(r, name, CHECK_WARN, "not in /proc/buddyinfo");
            continue;
        }
        char free_s[32], types[160] = "", s2m_now[32], s2m_max[32];
        hugepages_format_size(f.free_kb * KIB, free_s, sizeof(free_s));
        unsigned pct_small =
            f.free_kb > 0 ? (unsigned)((f.free_kb - f.free_2m_kb) * 100 / f.free_kb) : 0;
        if (f.have_types)
            snprintf(types, sizeof(types),
                     "; page blocks: %lu movable, %lu unmovable and %lu reclaimable (these two "
                     "hold kernel memory, which compaction cannot move)",
                     f.blocks[FRAG_MOVABLE], f.blocks[FRAG_UNMOVABLE], f.blocks[FRAG_RECLAIMABLE]);
        struct hugepage_pool p2 = {0}, p1 = {0};
        struct vmrun_error e = {0};
        bool has2 = hugepages_read_pool(node, 2048, &p2, &e) == 0;
        bool has1 = hugepages_read_pool(node, 1048576, &p1, &e) == 0;
        unsigned long now2 = p2.free + memfrag_2m_now(&f);
        unsigned long max2 = p2.free + memfrag_2m_compacted(&f);
        hugepages_format_size((uint64_t)now2 * 2 * 1024 * KIB, s2m_now, sizeof(s2m_now));
        hugepages_format_size((uint64_t)max2 * 2 * 1024 * KIB, s2m_max, sizeof(s2m_max));
        /* 1 GiB pages come from whole aligned 1 GiB ranges the kernel can
         * empty by moving pages: more than the free 4 MiB blocks could
         * make is impossible, fewer is likely. */
        uint64_t avail = f.free_4m_kb > f.reserve_kb ? f.free_4m_kb - f.reserve_kb : 0;
        unsigned long max1 = (unsigned long)(avail / (1024 * 1024));
        char one_g[128] = "";
        if (has1)
            snprintf(one_g, sizeof(one_g), "; 1 GiB pages: %lu free in the pool, at most %lu more "
                                           "at runtime",
                     p1.free, max1);
        struct check_item *it = check_add(
            r, name, pct_small > 50 ? CHECK_WARN : CHECK_PASS,
            "%s free, %u%% of it in pieces smaller than 2 MiB%s. The largest reservation that "
            "would succeed now: %s%lu 2 MiB pages (%s) at once, up to %lu (%s) after "
            "compaction%s",
            free_s, pct_small, types, has2 ? "" : "(no 2 MiB pool) ", now2, s2m_now, max2, s2m_max,
            one_g);
        if (pct_small > 50)
            check_hint(r, it,
                       "memory on node %d is fragmented: vmrun compacts it when it reserves; "
                       "memory.drop_caches lets it reclaim the page cache too; a pool reserved "
                       "at boot (hugepages=N) avoids the question",
                       node);
    }
}

/* Without hugepages: the guest's RAM against what the host has available. */
static void check_plain_memory(const struct vm_profile *p, struct check_report *r)
{
    char want[32], have[32];
    hugepages_format_size(p->memory.size, want, sizeof(want));
    char path[PATH_MAX];
    long long avail = -1;
    if (host_path(path, sizeof(path), HOST_PROC, "/meminfo") == 0)
        avail = meminfo_kb(path, "MemAvailable");
    if (avail < 0) {
        check_add(r, "memory", CHECK_WARN, "cannot read MemAvailable from %s", path);
        return;
    }
    hugepages_format_size((uint64_t)avail * KIB, have, sizeof(have));
    if ((uint64_t)avail * KIB < p->memory.size) {
        struct check_item *it = check_add(r, "memory", CHECK_WARN,
                                          "the guest's %s is more than the %s the host has "
                                          "available",
                                          want, have);
        check_hint(r, it,
                   "the host may swap or the kernel may kill QEMU: free memory or lower "
                   "memory.size");
        return;
    }
    check_add(r, "memory", CHECK_PASS, "guest RAM %s; %s available on the host (no hugepages)",
              want, have);
}

/* A hugepage reservation the pool cannot cover from its free pages, and
 * the node has the free memory for: what is said about making the rest. */
struct hp_shortfall {
    int node;
    const char *why; /* why that node */
    unsigned long pages, usable, shortfall;
    const char *want;  /* the guest's size */
    const char *psize; /* the page size */
    const char *have;  /* the node's free memory */
};

/* 1 GiB pages: the buddy allocator's largest blocks are 4 MiB, so no file
 * says whether 1 GiB of contiguous memory is left, and after some uptime
 * it seldom is. */
static void check_1g_shortfall(const struct vm_profile *p, const struct hp_shortfall *s,
                               struct check_report *r)
{
    struct check_item *it =
        check_add(r, "hugepages", CHECK_WARN,
                  "node %d (%s): %lu of the %lu 1 GiB pages needed for %s are not in the pool; "
                  "the node has %s free, but 1 GiB pages can seldom be made once memory is in "
                  "use",
                  s->node, s->why, s->shortfall, s->pages, s->want, s->have);
    if (p->memory.hugepage_fallback_kb == 2048)
        check_hint(r, it,
                   "vmrun falls back to 2 MiB pages (second in memory.hugepages) if it "
                   "cannot make them; to have 1 GiB pages for sure, add hugepagesz=1G "
                   "hugepages=%lu to the kernel command line",
                   s->pages);
    else
        check_hint(r, it,
                   "reserve them at boot: add hugepagesz=1G hugepages=%lu to the kernel command "
                   "line (or use \"hugepages\": \"2M\", or [\"1G\", \"2M\"] to fall back to it)",
                   s->pages);
}

/* 2 MiB pages: enough free 2 MiB blocks now, or compaction must make them. */
static void check_2m_shortfall(const struct hp_shortfall *s, struct check_report *r)
{
    struct node_frag f;
    long long blocks = memfrag_read(s->node, &f) == 0 ? (long long)memfrag_2m_now(&f) : -1;
    if (blocks >= 0 && (unsigned long long)blocks < s->shortfall) {
        struct check_item *it =
            check_add(r, "hugepages", CHECK_WARN,
                      "node %d (%s): %lu more 2 MiB pages are needed for %s; %s is free, but only "
                      "%lld free 2 MiB blocks exist (memory is fragmented)",
                      s->node, s->why, s->shortfall, s->want, s->have, blocks);
        check_hint(r, it,
                   "vmrun compacts memory at start and, with memory.drop_caches, drops the page "
                   "cache; if that is not enough, reserve at boot with hugepages=%lu",
                   s->pages);
        return;
    }
    check_add(r, "hugepages", CHECK_PASS,
              "node %d (%s): %lu free 2 MiB pages in the pool, %lu to add for %s; %s free in "
              "%lld 2 MiB blocks",
              s->node, s->why, s->usable, s->shortfall, s->want, s->have, blocks);
}

/* The hugepages on the VM's node: counted as the start will count them
 * (hugepages_need()), then whether the node can make what is missing. */
static void check_hugepages(const struct vm_profile *p, struct check_report *r)
{
    char want[32], have[32], psize[32];
    hugepages_format_size(p->memory.size, want, sizeof(want));
    unsigned kb = p->memory.hugepage_kb;
    uint64_t page = (uint64_t)kb * KIB;
    unsigned long pages = hugepages_for_size(p->memory.size, kb);
    hugepages_format_size(page, psize, sizeof(psize));

    int node = 0;
    char why[128] = "";
    struct vmrun_error e = {0};
    if (memory_pick_node(p, &node, why, sizeof(why), &e) < 0) {
        struct check_item *it = check_add(r, "hugepages", CHECK_FAIL, "%s", e.msg);
        check_hint(r, it, "set memory.numa_node to one of the host's nodes, or to \"auto\"");
        return;
    }
    struct hugepage_need hn;
    if (hugepages_need(node, kb, pages, &hn, &e) < 0) {
        struct check_item *it = check_add(r, "hugepages", CHECK_FAIL, "%s", e.msg);
        check_hint(r, it,
                   "memory.hugepages must be a page size this CPU and kernel offer (2M, 1G)");
        return;
    }
    if (hn.shortfall == 0) {
        check_add(r, "hugepages", CHECK_PASS,
                  "node %d (%s): %lu free %s pages already in the pool cover the %lu needed for %s",
                  node, why, hn.usable, psize, pages, want);
        return;
    }
    char path[PATH_MAX];
    long long node_free = -1;
    if (host_path(path, sizeof(path), HOST_SYS, "/devices/system/node/node%d/meminfo", node) == 0)
        node_free = meminfo_kb(path, "MemFree");
    uint64_t need_bytes = (uint64_t)hn.shortfall * page;
    char need_s[32];
    hugepages_format_size(need_bytes, need_s, sizeof(need_s));
    if (node_free < 0) {
        check_add(r, "hugepages", CHECK_WARN,
                  "node %d (%s): %lu of %lu %s pages must be added, and the node's free memory "
                  "cannot be read from %s",
                  node, why, hn.shortfall, pages, psize, path);
        return;
    }
    hugepages_format_size((uint64_t)node_free * KIB, have, sizeof(have));
    if ((uint64_t)node_free * KIB < need_bytes) {
        struct check_item *it = check_add(
            r, "hugepages", CHECK_FAIL,
            "node %d (%s): %lu more %s pages (%s) are needed for %s, but the node has only "
            "%s free",
            node, why, hn.shortfall, psize, need_s, want, have);
        check_hint(
            r, it,
            "free memory on node %d, set memory.drop_caches to let vmrun drop the page cache, "
            "or lower memory.size",
            node);
        return;
    }
    const struct hp_shortfall s = {.node = node,
                                   .why = why,
                                   .pages = pages,
                                   .usable = hn.usable,
                                   .shortfall = hn.shortfall,
                                   .want = want,
                                   .psize = psize,
                                   .have = have};
    if (kb == 1048576)
        check_1g_shortfall(p, &s, r);
    else if (kb == 2048)
        check_2m_shortfall(&s, r);
    else
        check_add(r, "hugepages", CHECK_PASS,
                  "node %d (%s): %lu free %s pages in the pool, %lu to add for %s; %s free", node,
                  why, hn.usable, psize, hn.shortfall, want, have);
}

void check_memory(const struct vm_profile *p, struct check_report *r)
{
    if (p->memory.hugepage_kb == 0) {
        check_plain_memory(p, r);
        return;
    }
    check_fragmentation(r);
    check_hugepages(p, r);
}

/* ---- RLIMIT_MEMLOCK ---- */

static bool can_raise_rlimits(void)
{
    if (geteuid() != 0)
        return false;
    capng_clear(CAPNG_SELECT_BOTH);
    if (capng_get_caps_process() < 0)
        return false;
    return capng_have_capability(CAPNG_EFFECTIVE, CAP_SYS_RESOURCE) != 0;
}

void check_memlock(const struct vm_profile *p, struct check_report *r)
{
    uint64_t need = priv_memlock_bytes(p);
    if (need == 0) {
        check_add(r, "memlock", CHECK_PASS, "not needed: no PCI device pins guest memory");
        return;
    }
    char need_s[32], cur_s[32], max_s[32];
    hugepages_format_size(need, need_s, sizeof(need_s));
    struct rlimit rl;
    if (getrlimit(RLIMIT_MEMLOCK, &rl) < 0) {
        check_add(r, "memlock", CHECK_WARN, "getrlimit(RLIMIT_MEMLOCK): %s", strerror(errno));
        return;
    }
    if (rl.rlim_cur == RLIM_INFINITY)
        snprintf(cur_s, sizeof(cur_s), "unlimited");
    else
        hugepages_format_size((uint64_t)rl.rlim_cur, cur_s, sizeof(cur_s));
    if (rl.rlim_max == RLIM_INFINITY)
        snprintf(max_s, sizeof(max_s), "unlimited");
    else
        hugepages_format_size((uint64_t)rl.rlim_max, max_s, sizeof(max_s));
    if (rl.rlim_cur == RLIM_INFINITY || (uint64_t)rl.rlim_cur >= need) {
        check_add(r, "memlock", CHECK_PASS,
                  "RLIMIT_MEMLOCK is %s; VFIO pins %s (guest RAM + 1 GiB)", cur_s, need_s);
        return;
    }
    /* priv_set_memlock raises soft and hard: the soft limit up to the hard
     * one needs no privilege, beyond it CAP_SYS_RESOURCE. */
    if (rl.rlim_max == RLIM_INFINITY || (uint64_t)rl.rlim_max >= need || can_raise_rlimits()) {
        check_add(r, "memlock", CHECK_PASS,
                  "RLIMIT_MEMLOCK is %s (hard %s); vmrun raises it to %s (guest RAM + 1 GiB) at "
                  "start",
                  cur_s, max_s, need_s);
        return;
    }
    struct check_item *it =
        check_add(r, "memlock", CHECK_WARN,
                  "RLIMIT_MEMLOCK is %s (hard %s), below the %s VFIO pins (guest RAM + 1 GiB), and "
                  "this process cannot raise it (no CAP_SYS_RESOURCE)",
                  cur_s, max_s, need_s);
    check_hint(r, it,
               "run vmrun as root, raise the limit (ulimit -l, limits.conf memlock), or set "
               "LimitMEMLOCK= in the systemd unit");
}
