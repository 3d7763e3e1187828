/* The per-node hugepage pool (hugepages.h). */
#include "host/memory/hugepages.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "host/memory/memfrag.h"
#include "journal/opargs.h"
#include "sys/hostfile.h"
#include "sys/hostpath.h"
#include "sys/seams.h"

#define OP_RESERVE "hugepages-reserve"
#define DEFAULT_TIME_BUDGET 10.0

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
    out->surplus = 0;
    int r = read_counter(node, page_kb, "nr_hugepages", &out->nr, err);
    if (r < 0)
        return r;
    r = read_counter(node, page_kb, "free_hugepages", &out->free, err);
    if (r < 0)
        return r;
    /* Older simulated hosts and kernels without the file: no surplus. */
    struct vmrun_error ignored = {0};
    (void)read_counter(node, page_kb, "surplus_hugepages", &out->surplus, &ignored);
    if (out->surplus > out->nr)
        out->surplus = out->nr;
    return 0;
}

int hugepages_persistent(int node, unsigned page_kb, unsigned long *out, struct vmrun_error *err)
{
    struct hugepage_pool pool;
    int r = hugepages_read_pool(node, page_kb, &pool, err);
    if (r < 0)
        return r;
    *out = pool.nr - pool.surplus;
    return 0;
}

/* Set the node's persistent count. Growing, the kernel allocates what it
 * can and keeps it (ENOMEM when it fell short): read back to see. */
static int write_nr(int node, unsigned page_kb, unsigned long value, struct vmrun_error *err)
{
    char path[PATH_MAX];
    if (pool_path(path, sizeof(path), node, page_kb, "nr_hugepages") < 0)
        return vmrun_failx(err, ENAMETOOLONG, "hugepage path too long");
    int r = hostfile_write_ulong(path, value);
    if (r < 0 && r != -ENOMEM)
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

unsigned long hugepages_for_size(uint64_t size, unsigned page_kb)
{
    uint64_t page = (uint64_t)page_kb * 1024;
    return (unsigned long)((size + page - 1) / page);
}

int hugepages_need(int node, unsigned page_kb, unsigned long pages, struct hugepage_need *out,
                   struct vmrun_error *err)
{
    int r = hugepages_read_pool(node, page_kb, &out->pool, err);
    if (r < 0)
        return r;
    unsigned long resv = reserved_pages(page_kb);
    out->usable = out->pool.free > resv ? out->pool.free - resv : 0;
    out->shortfall = out->usable >= pages ? 0 : pages - out->usable;
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Compaction of one node (nodeN/compact), else of all memory. */
static void compact_node(int node)
{
    char path[PATH_MAX];
    if (host_path(path, sizeof(path), HOST_SYS, "/devices/system/node/node%d/compact", node) == 0 &&
        hostfile_write(path, "1") == 0)
        return;
    if (host_path(path, sizeof(path), HOST_PROC, "/sys/vm/compact_memory") == 0)
        (void)hostfile_write(path, "1");
}

/* Reclaim `bytes` of the node's page cache (nodeN/reclaim, Linux 6.16 and
 * later), else drop the clean page cache of the whole host. Returns a word
 * for the report. */
static const char *reclaim_node(int node, uint64_t bytes)
{
    char path[PATH_MAX], value[64];
    if (host_path(path, sizeof(path), HOST_SYS, "/devices/system/node/node%d/reclaim", node) == 0 &&
        hostfile_exists(path)) {
        /* swappiness=0: page cache only, the host's programs stay in RAM.
         * The kernel answers EAGAIN when it reclaimed less than asked. */
        snprintf(value, sizeof(value), "%llu swappiness=0", (unsigned long long)bytes);
        int r = hostfile_write(path, value);
        if (r == -EINVAL) {
            snprintf(value, sizeof(value), "%llu", (unsigned long long)bytes);
            r = hostfile_write(path, value);
        }
        if (r == 0 || r == -EAGAIN)
            return "reclaiming its page cache";
    }
    sync();
    if (host_path(path, sizeof(path), HOST_PROC, "/sys/vm/drop_caches") == 0)
        (void)hostfile_write(path, "1");
    return "dropping the page cache";
}

/* Fault injection at a named point (test build only, sys/seams.h). */
static void kill_point(const char *name)
{
    const char *at = seam_value(SEAM_KILL_AT);
    if (at != NULL && strcmp(at, name) == 0)
        raise(SIGKILL);
}

/* Grow the node's persistent count to target, as far as the kernel goes;
 * *got is the count afterwards. */
static int grow(int node, unsigned page_kb, unsigned long target, unsigned long *got,
                struct vmrun_error *err)
{
    int r = write_nr(node, page_kb, target, err);
    if (r < 0)
        return r;
    return hugepages_persistent(node, page_kb, got, err);
}

/* Lower the node's persistent count by `pages` (never below 0). */
static int shrink_by(int node, unsigned page_kb, unsigned long pages, struct vmrun_error *err)
{
    if (pages == 0)
        return 0;
    unsigned long now;
    int r = hugepages_persistent(node, page_kb, &now, err);
    if (r == -ENOENT)
        return 0; /* the pool is gone: nothing of ours is left */
    if (r < 0)
        return r;
    return write_nr(node, page_kb, now > pages ? now - pages : 0, err);
}

/* Append ", what" (or " and what") to a NUL-terminated text. */
static void append(char *buf, size_t len, const char *sep, const char *what)
{
    size_t used = strlen(buf);
    snprintf(buf + used, len - used, "%s%s", sep, what);
}

/* The strategy, once the first write fell short: compaction of the node,
 * then (memory.drop_caches) the node's page cache, then more rounds of
 * compaction and growing for as long as each makes progress and time is
 * left. The kernel's own allocation already compacts and reclaims for each
 * page, but gives up on a node for the rest of a write after its first
 * failure: a new write after a compaction pass gets further. */
static int grow_harder(struct host_prep *hp, int node, unsigned page_kb, unsigned long before,
                       unsigned long target, const struct hugepage_policy *pol, double t0,
                       unsigned long *got, char *how, size_t how_len, struct vmrun_error *err)
{
    double budget = pol->time_budget > 0 ? pol->time_budget : DEFAULT_TIME_BUDGET;
    host_prep_say(hp,
                  "the kernel added %lu of the %lu hugepages needed on node %d at once; "
                  "compacting memory",
                  *got > before ? *got - before : 0, target - before, node);
    if (how[0] == '\0')
        snprintf(how, how_len, " after compacting node %d", node);
    compact_node(node);
    unsigned long last = *got;
    int r = grow(node, page_kb, target, got, err);
    if (r < 0 || *got >= target)
        return r;
    if (pol->drop_caches) {
        uint64_t short_bytes = (uint64_t)(target - *got) * page_kb * 1024;
        /* A margin: reclaimed pages are not all in whole free blocks. */
        const char *what = reclaim_node(node, short_bytes + short_bytes / 4 + (64ULL << 20));
        host_prep_say(hp, "still short; %s (memory.drop_caches) and retrying", what);
        append(how, how_len, ", ", what);
        compact_node(node);
        last = *got;
        r = grow(node, page_kb, target, got, err);
        if (r < 0 || *got >= target)
            return r;
    }
    unsigned rounds = 0;
    while (*got < target && *got > last && now_s() - t0 < budget) {
        last = *got;
        compact_node(node);
        r = grow(node, page_kb, target, got, err);
        if (r < 0)
            return r;
        rounds++;
    }
    if (rounds > 0) {
        char n[48];
        snprintf(n, sizeof(n), "%u more round%s", rounds, rounds == 1 ? "" : "s");
        append(how, how_len, " and ", n);
    }
    return 0;
}

/* Why a reservation fell short, from the node's free memory as it is now. */
static void explain_shortfall(int node, unsigned page_kb, char *buf, size_t len)
{
    struct node_frag f;
    buf[0] = '\0';
    if (memfrag_read(node, &f) < 0)
        return;
    char free_s[32], big_s[32];
    hugepages_format_size(f.free_kb * 1024, free_s, sizeof(free_s));
    uint64_t big = page_kb >= 1048576 ? f.free_4m_kb : f.free_2m_kb;
    hugepages_format_size(big * 1024, big_s, sizeof(big_s));
    int n = snprintf(buf, len, "node %d has %s free, %s of it in free blocks of %s or more", node,
                     free_s, big_s, page_kb >= 1048576 ? "4 MiB" : "2 MiB");
    if (n > 0 && (size_t)n < len && f.have_types && f.blocks_total > 0)
        snprintf(buf + n, len - (size_t)n,
                 ", and %lu of its %lu page blocks hold unmovable or reclaimable kernel memory, "
                 "which compaction cannot move",
                 f.blocks[FRAG_UNMOVABLE] + f.blocks[FRAG_RECLAIMABLE], f.blocks_total);
}

int hugepages_reserve(struct host_prep *hp, struct hp_ledger *l, int node, unsigned page_kb,
                      unsigned long pages, const struct hugepage_policy *policy,
                      struct hugepage_reservation *out, struct vmrun_error *err)
{
    memset(out, 0, sizeof(*out));
    out->node = node;
    out->page_kb = page_kb;
    out->wanted = pages;

    struct hugepage_need hn;
    int r = hugepages_need(node, page_kb, pages, &hn, err);
    if (r < 0)
        return r;
    unsigned long usable = hn.usable;
    if (hn.shortfall == 0) {
        out->reused = pages;
        return 0;
    }
    out->reused = usable;
    unsigned long need = hn.shortfall;
    unsigned long before = hn.pool.nr - hn.pool.surplus;
    if (before > ULONG_MAX - need)
        return vmrun_failx(err, EOVERFLOW, "hugepage count overflows");
    unsigned long target = before + need;

    /* Record (journal, then the ledger's pending claim), change, confirm. */
    struct hp_claim c = {.node = node, .page_kb = page_kb, .pending = true, .before = before,
                         .target = target};
    snprintf(c.vm, sizeof(c.vm), "%s", hp->profile->name);
    if ((r = hp_ledger_new_id(c.id, err)) < 0)
        return r;
    cJSON *args = cJSON_CreateObject();
    if (args == NULL)
        return vmrun_fail(err, ENOMEM, "journal hugepages");
    cJSON_AddNumberToObject(args, "node", node);
    cJSON_AddNumberToObject(args, "page_kb", page_kb);
    cJSON_AddStringToObject(args, "claim", c.id);
    cJSON_AddNumberToObject(args, "pages", (double)need);
    if ((r = journal_record(hp->journal, OP_RESERVE, args, err)) < 0)
        return r;
    if ((r = hp_ledger_add(l, &c, err)) < 0 || (r = hp_ledger_save(l, err)) < 0)
        return r;
    kill_point("hugepages-claimed");

    double t0 = now_s();
    unsigned long got = before;
    /* When the node has too few free blocks of the page size for the whole
     * shortfall, compact it once first: a write would otherwise make the
     * kernel compact a little for every page it fails to find, which is
     * slower than one pass over the node (measured: README, Benchmarks). */
    struct node_frag f;
    if (page_kb == 2048 && memfrag_read(node, &f) == 0 && memfrag_2m_now(&f) < need) {
        compact_node(node);
        snprintf(out->how, sizeof(out->how), " after compacting node %d", node);
    }
    r = grow(node, page_kb, target, &got, err);
    kill_point("hugepages-grown");
    if (r == 0 && got < target)
        r = grow_harder(hp, node, page_kb, before, target, policy, t0, &got, out->how,
                        sizeof(out->how), err);
    out->seconds = now_s() - t0;

    /* An error leaves the claim pending: the plan's rollback (or recover)
     * settles it from the pool as it is then, and gives the pages back. */
    if (r < 0)
        return r;
    struct hp_claim *held = hp_ledger_find(l, c.id);
    unsigned long added = got > before ? got - before : 0;
    if (added > need)
        added = need;
    if (got >= target) {
        held->pending = false;
        held->added = added;
        out->added = added;
        if ((r = hp_ledger_save(l, err)) < 0)
            return r;
        return journal_done(hp->journal, err);
    }

    /* Short: put the pool back before reporting, so the figures below show
     * the host as the user will find it; the claim goes once it is back. */
    r = shrink_by(node, page_kb, added, err);
    if (r == 0) {
        hp_ledger_remove(l, held);
        r = hp_ledger_save(l, err);
    }
    if (r < 0) {
        vmrun_error_prefix(err, "could not give back the hugepages vmrun added");
        return r;
    }
    unsigned long have = added + usable;
    char psz[32], want_s[32], have_s[32], why[512];
    hugepages_format_size((uint64_t)page_kb * 1024, psz, sizeof(psz));
    hugepages_format_size((uint64_t)pages * page_kb * 1024, want_s, sizeof(want_s));
    hugepages_format_size((uint64_t)have * page_kb * 1024, have_s, sizeof(have_s));
    explain_shortfall(node, page_kb, why, sizeof(why));
    r = vmrun_failx(err, ENOMEM,
                    "not enough %s hugepages on NUMA node %d: wanted %lu (%s), got %lu (%s) in "
                    "%.1f s%s; %s; the largest reservation that would succeed now is %s (%lu "
                    "pages). Lower memory.size, free memory on the node%s, or reserve hugepages "
                    "at boot (hugepages= on the kernel command line)",
                    psz, node, pages, want_s, have, have_s, out->seconds, out->how, why, have_s,
                    have, policy->drop_caches ? "" : ", set memory.drop_caches");
    return r;
}

/* The record of a vmrun from before the ledger: the count before and the
 * pages added. Lowered by at most "added", never below "before". */
static int legacy_release(const cJSON *args, struct vmrun_error *err)
{
    long node, page_kb, before, added;
    if (oparg_long(args, "node", 0, 4095, &node) < 0 ||
        oparg_long(args, "page_kb", 4, 16L * 1024 * 1024, &page_kb) < 0 ||
        oparg_long(args, "before", 0, LONG_MAX / 2, &before) < 0 ||
        oparg_long(args, "added", 0, LONG_MAX / 2, &added) < 0)
        return vmrun_failx(err, EINVAL, "malformed %s record", OP_RESERVE);
    unsigned long now;
    int r = hugepages_persistent((int)node, (unsigned)page_kb, &now, err);
    if (r == -ENOENT)
        return 0;
    if (r < 0 || now <= (unsigned long)before)
        return r;
    unsigned long target = now > (unsigned long)added ? now - (unsigned long)added : 0;
    if (target < (unsigned long)before)
        target = (unsigned long)before;
    return write_nr((int)node, (unsigned)page_kb, target, err);
}

int hugepages_undo(const cJSON *args, struct vmrun_error *err)
{
    const char *id = oparg_string(args, "claim");
    if (id == NULL)
        return legacy_release(args, err);
    if (strlen(id) != HP_CLAIM_ID_LEN)
        return vmrun_failx(err, EINVAL, "malformed %s record", OP_RESERVE);
    struct hp_ledger l;
    int r = hp_ledger_open(&l, NULL, NULL, err);
    if (r < 0)
        return r;
    struct hp_claim *c = hp_ledger_find(&l, id);
    if (c != NULL) {
        /* Opening settled it if its writer died while it was pending. */
        r = shrink_by(c->node, c->page_kb, c->added, err);
        if (r == 0) {
            hp_ledger_remove(&l, c);
            r = hp_ledger_save(&l, err);
        }
    }
    hp_ledger_close(&l);
    return r;
}

void hugepages_describe(const cJSON *args, char *buf, size_t len)
{
    long node, page_kb, pages = 0;
    const char *id = oparg_string(args, "claim");
    if (oparg_long(args, "node", 0, 4095, &node) < 0 ||
        oparg_long(args, "page_kb", 4, 16L * 1024 * 1024, &page_kb) < 0) {
        snprintf(buf, len, "give back hugepages (malformed record)");
        return;
    }
    if (id == NULL || oparg_long(args, "pages", 0, LONG_MAX / 2, &pages) < 0)
        (void)oparg_long(args, "added", 0, LONG_MAX / 2, &pages);
    char psz[32];
    hugepages_format_size((uint64_t)page_kb * 1024, psz, sizeof(psz));
    snprintf(buf, len, "give back the %s hugepages vmrun added on node %d (up to %ld)", psz,
             (int)node, pages);
}
