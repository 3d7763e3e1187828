/* The per-node hugepage pool (hugepages.h). */
#include "host/memory/hugepages.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "journal/opargs.h"
#include "sys/hostfile.h"
#include "sys/hostpath.h"

#define OP_RESERVE "hugepages-reserve"

void hugepages_format_size(uint64_t bytes, char *buf, size_t len)
{
    static const char *const units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
    unsigned u = 0;
    uint64_t whole = bytes;
    while (whole >= 1024 && u + 1 < ARRAY_SIZE(units) && whole % 1024 == 0) {
        whole /= 1024;
        u++;
    }
    if (whole < 1024 || u + 1 == ARRAY_SIZE(units)) {
        snprintf(buf, len, "%llu %s", (unsigned long long)whole, units[u]);
        return;
    }
    double v = (double)bytes;
    u = 0;
    while (v >= 1024 && u + 1 < ARRAY_SIZE(units)) {
        v /= 1024;
        u++;
    }
    snprintf(buf, len, "%.1f %s", v, units[u]);
}

static int pool_path(char *buf, size_t len, int node, unsigned page_kb, const char *file)
{
    return host_path(buf, len, HOST_SYS, "/devices/system/node/node%d/hugepages/hugepages-%ukB/%s",
                     node, page_kb, file);
}

static int read_counter(int node, unsigned page_kb, const char *file, unsigned long *out,
                        struct vmrun_error *err)
{
    char path[PATH_MAX];
    if (pool_path(path, sizeof(path), node, page_kb, file) < 0)
        return vmrun_failx(err, ENAMETOOLONG, "hugepage path too long");
    int r = hostfile_read_ulong(path, out);
    if (r == -ENOENT) {
        char size[32];
        hugepages_format_size((uint64_t)page_kb * 1024, size, sizeof(size));
        return vmrun_failx(err, ENOENT, "NUMA node %d has no %s hugepage pool (%s is missing)",
                           node, size, path);
    }
    if (r < 0)
        return vmrun_fail(err, -r, "read %s", path);
    return 0;
}

int hugepages_read_pool(int node, unsigned page_kb, struct hugepage_pool *out,
                        struct vmrun_error *err)
{
    int r = read_counter(node, page_kb, "nr_hugepages", &out->nr, err);
    if (r < 0)
        return r;
    return read_counter(node, page_kb, "free_hugepages", &out->free, err);
}

static int write_nr(int node, unsigned page_kb, unsigned long value, struct vmrun_error *err)
{
    char path[PATH_MAX];
    if (pool_path(path, sizeof(path), node, page_kb, "nr_hugepages") < 0)
        return vmrun_failx(err, ENAMETOOLONG, "hugepage path too long");
    int r = hostfile_write_ulong(path, value);
    if (r < 0)
        return vmrun_fail(err, -r, "write %lu to %s", value, path);
    return 0;
}

/* Free pages that are promised to existing mappings (HugePages_Rsvd) look
 * free per node but are not; the kernel counts them only globally, so the
 * whole count is set aside, whichever node they are on. */
static unsigned long reserved_pages(unsigned page_kb)
{
    char path[PATH_MAX];
    unsigned long v = 0;
    if (host_path(path, sizeof(path), HOST_SYS,
                  "/kernel/mm/hugepages/hugepages-%ukB/resv_hugepages", page_kb) < 0 ||
        hostfile_read_ulong(path, &v) < 0)
        return 0;
    return v;
}

static unsigned long node_memfree_kb(int node)
{
    char path[PATH_MAX];
    if (host_path(path, sizeof(path), HOST_SYS, "/devices/system/node/node%d/meminfo", node) < 0)
        return 0;
    cleanup_fclose FILE *f = fopen(path, "re");
    if (f == NULL)
        return 0;
    char line[256];
    while (fgets(line, sizeof(line), f) != NULL) {
        /* "Node 0 MemFree:         1234 kB" */
        const char *k = strstr(line, "MemFree:");
        unsigned long kb;
        if (k != NULL && sscanf(k, "MemFree: %lu", &kb) == 1)
            return kb;
    }
    return 0;
}

static int proc_vm_write(const char *name, const char *value)
{
    char path[PATH_MAX];
    if (host_path(path, sizeof(path), HOST_PROC, "/sys/vm/%s", name) < 0)
        return -ENAMETOOLONG;
    return hostfile_write(path, value);
}

int hugepages_release(int node, unsigned page_kb, unsigned long before, unsigned long added,
                      struct vmrun_error *err)
{
    unsigned long now;
    int r = read_counter(node, page_kb, "nr_hugepages", &now, err);
    if (r == -ENOENT)
        return 0; /* the node or the page size is gone: nothing of ours is left */
    if (r < 0)
        return r;
    /* Take away at most what vmrun added, and never reach below the count
     * from before vmrun started: that part belongs to others. When the
     * increase never happened, or this undo already ran, now <= before and
     * nothing is written. */
    if (now <= before)
        return 0;
    unsigned long target = now > added ? now - added : 0;
    if (target < before)
        target = before;
    if (target == now)
        return 0;
    return write_nr(node, page_kb, target, err);
}

static int try_reach(int node, unsigned page_kb, unsigned long target, unsigned long *got,
                     struct vmrun_error *err)
{
    /* The kernel allocates what it can and keeps it; reading back tells how
     * far it got. */
    int r = write_nr(node, page_kb, target, err);
    if (r < 0 && r != -ENOMEM)
        return r;
    return read_counter(node, page_kb, "nr_hugepages", got, err);
}

int hugepages_reserve(struct host_prep *hp, int node, unsigned page_kb, unsigned long pages,
                      bool drop_caches, struct hugepage_reservation *out, struct vmrun_error *err)
{
    memset(out, 0, sizeof(*out));
    out->node = node;
    out->page_kb = page_kb;
    out->wanted = pages;

    struct hugepage_pool pool;
    int r = hugepages_read_pool(node, page_kb, &pool, err);
    if (r < 0)
        return r;
    unsigned long resv = reserved_pages(page_kb);
    unsigned long usable = pool.free > resv ? pool.free - resv : 0;
    out->before = pool.nr;
    if (usable >= pages) {
        out->reused = pages;
        return 0;
    }
    out->reused = usable;
    unsigned long need = pages - usable;
    if (pool.nr > ULONG_MAX - need)
        return vmrun_failx(err, EOVERFLOW, "hugepage count overflows");
    unsigned long target = pool.nr + need;

    cJSON *args = cJSON_CreateObject();
    if (args == NULL)
        return vmrun_fail(err, ENOMEM, "journal hugepages");
    cJSON_AddNumberToObject(args, "node", node);
    cJSON_AddNumberToObject(args, "page_kb", page_kb);
    cJSON_AddNumberToObject(args, "before", (double)pool.nr);
    cJSON_AddNumberToObject(args, "added", (double)need);
    r = journal_record(hp->journal, OP_RESERVE, args, err);
    if (r < 0)
        return r;
    out->added = need;

    unsigned long got = 0;
    r = try_reach(node, page_kb, target, &got, err);
    if (r == 0) {
        struct vmrun_error derr = {0};
        r = journal_done(hp->journal, &derr);
        if (r < 0)
            *err = derr;
    }
    const char *tried = "";
    if (r == 0 && got < target) {
        host_prep_say(hp, "only %lu of %lu hugepages on node %d; compacting memory and retrying",
                      got - pool.nr + usable, pages, node);
        tried = " after compacting memory";
        (void)proc_vm_write("compact_memory", "1");
        r = try_reach(node, page_kb, target, &got, err);
    }
    if (r == 0 && got < target && drop_caches) {
        host_prep_say(hp, "still short; dropping the page cache (memory.drop_caches) and retrying");
        tried = " after compacting memory and dropping the page cache";
        sync();
        (void)proc_vm_write("drop_caches", "3");
        (void)proc_vm_write("compact_memory", "1");
        r = try_reach(node, page_kb, target, &got, err);
    }
    if (r == 0 && got >= target)
        return 0;

    /* Short (or an error): put the pool back before reporting, so the
     * figures below show the host as the user will find it. */
    unsigned long have = (got > pool.nr ? got - pool.nr : 0) + usable;
    struct vmrun_error rerr = {0};
    int rr = hugepages_release(node, page_kb, pool.nr, need, &rerr);
    if (r < 0) {
        if (rr < 0)
            vmrun_error_prefix(err, "%s; also", rerr.msg);
        return r;
    }
    char psz[32], want_s[32], have_s[32], free_s[32];
    hugepages_format_size((uint64_t)page_kb * 1024, psz, sizeof(psz));
    hugepages_format_size((uint64_t)pages * page_kb * 1024, want_s, sizeof(want_s));
    hugepages_format_size((uint64_t)have * page_kb * 1024, have_s, sizeof(have_s));
    hugepages_format_size((uint64_t)node_memfree_kb(node) * 1024, free_s, sizeof(free_s));
    r = vmrun_failx(err, ENOMEM,
                    "not enough %s hugepages on NUMA node %d: wanted %lu (%s), got %lu (%s)%s; "
                    "node %d has %s of free memory; the largest reservation that would succeed "
                    "now is %s (%lu pages). Lower memory.size, free memory on the node%s, or "
                    "reserve hugepages at boot (hugepages= on the kernel command line)",
                    psz, node, pages, want_s, have, have_s, tried, node, free_s, have_s, have,
                    drop_caches ? "" : ", set memory.drop_caches");
    if (rr < 0)
        vmrun_error_prefix(err, "could not give back the hugepages vmrun added (%s); and",
                           rerr.msg);
    return r;
}

static int reserve_args(const cJSON *args, long *node, long *page_kb, long *before, long *added)
{
    if (oparg_long(args, "node", 0, 4095, node) < 0 ||
        oparg_long(args, "page_kb", 4, 16L * 1024 * 1024, page_kb) < 0 ||
        oparg_long(args, "before", 0, LONG_MAX / 2, before) < 0 ||
        oparg_long(args, "added", 0, LONG_MAX / 2, added) < 0)
        return -EINVAL;
    return 0;
}

int hugepages_undo(const cJSON *args, struct vmrun_error *err)
{
    long node, page_kb, before, added;
    if (reserve_args(args, &node, &page_kb, &before, &added) < 0)
        return vmrun_failx(err, EINVAL, "malformed %s record", OP_RESERVE);
    return hugepages_release((int)node, (unsigned)page_kb, (unsigned long)before,
                             (unsigned long)added, err);
}

void hugepages_describe(const cJSON *args, char *buf, size_t len)
{
    long node, page_kb, before, added;
    if (reserve_args(args, &node, &page_kb, &before, &added) < 0) {
        snprintf(buf, len, "give back hugepages (malformed record)");
        return;
    }
    char psz[32];
    hugepages_format_size((uint64_t)page_kb * 1024, psz, sizeof(psz));
    snprintf(buf, len, "give back %ld %s hugepages on node %d (pool was %ld)", added, psz,
             (int)node, before);
}
