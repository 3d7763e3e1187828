/* The fragmentation benchmark's parts (run-frag-bench.sh drives them and
 * prints the table). Node 0 only. Needs root.
 *
 *   frag_bench fragment FILE ANON_MIB PIN_EVERY KEEP_EVERY
 *       Fragments memory as a desktop that has run for weeks does, then
 *       prints "ready" and holds everything until its stdin closes:
 *         - the page cache: reads FILE (made beforehand) whole;
 *         - ANON_MIB of anonymous 4 KiB pages (no THP), touched in order;
 *         - pinned kernel memory: in every PIN_EVERY-th 2 MiB stretch of it,
 *           one page is freed and at once refilled by a pipe buffer (an
 *           unmovable kernel page; the allocator hands out the page just
 *           freed), so those stretches can never become a hugepage;
 *         - then it frees the anonymous pages except one in KEEP_EVERY,
 *           scattered, so free memory is plentiful but in small pieces
 *           until compaction moves what is left.
 *       Deterministic: the same arguments give the same pattern.
 *   frag_bench ceiling PAGE_KB
 *       The most pages of PAGE_KB the node could give now: aligned ranges
 *       whose every page is free or movable/reclaimable (LRU), from
 *       /proc/kpageflags and /proc/kpagecount, capped by the memory that is
 *       free or page cache above the zones' watermarks.
 *   frag_bench vmrun PAGE_KB PAGES DROP_CACHES
 *       vmrun's own reservation (hugepages_reserve) in a scratch ledger.
 *   frag_bench tutorial PAGE_KB PAGES
 *       The tutorial's loop: write the count; on a shortfall compact all
 *       memory and write again, up to 1000 times (or 120 s).
 *   frag_bench single PAGE_KB PAGES
 *       One write of the count, no compaction.
 * The three reservations print "PAGES_GOT SECONDS" and leave the pool
 * grown: the driver puts it back. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "host/memory/hugepage_ledger.h"
#include "host/memory/hugepages.h"
#include "journal/journal.h"
#include "journal/step.h"
#include "profile/profile.h"

#define PAGE 4096UL
#define BLOCK (2UL << 20)

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int write_file(const char *path, unsigned long v)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%lu", v);
    int r = write(fd, buf, (size_t)n) == n ? 0 : -errno;
    close(fd);
    return r;
}

static unsigned long read_file(const char *path)
{
    FILE *f = fopen(path, "re");
    unsigned long v = 0;
    if (f != NULL) {
        if (fscanf(f, "%lu", &v) != 1)
            v = 0;
        fclose(f);
    }
    return v;
}

static void pool_path(char *buf, size_t len, unsigned kb, const char *file)
{
    snprintf(buf, len, "/sys/devices/system/node/node0/hugepages/hugepages-%ukB/%s", kb, file);
}

/* ---- fragment ----------------------------------------------------------- */

static int fragment(const char *file, unsigned long anon_mib, unsigned long pin_every,
                    unsigned long keep_every)
{
    /* The page cache: the whole file, read. */
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        perror(file);
        return 1;
    }
    /* Its pages leave the cache first, so that every run allocates them
     * afresh, in the same order. */
    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    static char buf[1 << 20];
    off_t file_size = 0;
    ssize_t got;
    while ((got = read(fd, buf, sizeof(buf))) > 0)
        file_size += got;
    close(fd);

    size_t size = anon_mib << 20;
    char *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    madvise(m, size, MADV_NOHUGEPAGE);
    for (size_t off = 0; off < size; off += PAGE)
        m[off] = 1;

    /* Pipes: each holds up to 256 pinned pages (F_SETPIPE_SZ 1 MiB). */
    struct rlimit rl = {65536, 65536};
    setrlimit(RLIMIT_NOFILE, &rl);
    int pipefd[2] = {-1, -1};
    unsigned in_pipe = 256;
    unsigned long pinned = 0;
    static char page[PAGE];
    memset(page, 0x5a, sizeof(page));
    for (size_t blk = 0; blk + BLOCK <= size; blk += BLOCK) {
        if ((blk / BLOCK) % pin_every != 0)
            continue;
        if (in_pipe == 256) {
            if (pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) < 0) {
                perror("pipe2");
                break;
            }
            fcntl(pipefd[1], F_SETPIPE_SZ, 1 << 20);
            in_pipe = 0;
        }
        /* A page in the middle of the stretch, freed and at once taken by
         * the pipe. */
        madvise(m + blk + BLOCK / 2, PAGE, MADV_DONTNEED);
        if (write(pipefd[1], page, PAGE) != (ssize_t)PAGE)
            break;
        in_pipe++;
        pinned++;
    }
    /* Free all but one page in keep_every, spread over the whole area. */
    unsigned long kept = 0;
    for (size_t off = 0; off < size; off += keep_every * PAGE) {
        kept++;
        size_t len = (keep_every - 1) * PAGE;
        if (off + PAGE + len > size)
            len = size - off - PAGE;
        madvise(m + off + PAGE, len, MADV_DONTNEED);
    }
    printf("ready: %lu MiB of page cache, %lu pinned pages, %lu MiB of scattered anonymous "
           "pages kept\n",
           (unsigned long)(file_size >> 20), pinned,
           kept * PAGE >> 20);
    fflush(stdout);
    while (read(0, buf, sizeof(buf)) > 0)
        ;
    return 0;
}

/* ---- ceiling ------------------------------------------------------------ */

#define KPF_LRU (1ULL << 5)
#define KPF_HUGE (1ULL << 17)
#define KPF_NOPAGE (1ULL << 20)

/* The zones of node 0 that serve hugepages: [start, end) pfn ranges. */
static int node_zones(unsigned long start[8], unsigned long end[8])
{
    FILE *f = fopen("/proc/zoneinfo", "re");
    if (f == NULL)
        return 0;
    char line[256], zone[32] = "";
    int node = -1, n = 0;
    unsigned long spanned = 0, s;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (sscanf(line, "Node %d, zone %31s", &node, zone) == 2)
            continue;
        if (sscanf(line, " spanned %lu", &s) == 1)
            spanned = s;
        if (sscanf(line, " start_pfn: %lu", &s) == 1 && node == 0 && strcmp(zone, "DMA") != 0 &&
            spanned > 0 && n < 8) {
            start[n] = s;
            end[n] = s + spanned;
            n++;
        }
    }
    fclose(f);
    return n;
}

static int ceiling(unsigned kb)
{
    unsigned long per = kb / 4; /* 4 KiB pages per hugepage */
    unsigned long zs[8], ze[8];
    int nz = node_zones(zs, ze);
    int ff = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
    int fc = open("/proc/kpagecount", O_RDONLY | O_CLOEXEC);
    if (ff < 0 || fc < 0 || nz == 0) {
        fprintf(stderr, "ceiling: needs /proc/kpageflags, /proc/kpagecount and zoneinfo\n");
        return 1;
    }
    uint64_t *flags = malloc(per * 8), *count = malloc(per * 8);
    unsigned long clear = 0;
    for (int z = 0; z < nz; z++) {
        for (unsigned long pfn = (zs[z] + per - 1) / per * per; pfn + per <= ze[z]; pfn += per) {
            if (pread(ff, flags, per * 8, (off_t)(pfn * 8)) != (ssize_t)(per * 8) ||
                pread(fc, count, per * 8, (off_t)(pfn * 8)) != (ssize_t)(per * 8))
                break;
            unsigned long i;
            for (i = 0; i < per; i++) {
                if (flags[i] & KPF_NOPAGE)
                    break;
                /* Free (no reference), or a user page the kernel can move
                 * or reclaim (on an LRU list), or already a hugepage. */
                if (count[i] != 0 && !(flags[i] & (KPF_LRU | KPF_HUGE)))
                    break;
            }
            if (i == per)
                clear++;
        }
    }
    /* Memory: free + page cache, above the watermarks. */
    unsigned long free_kb = 0, file_kb = 0, min_kb = 0, v;
    FILE *f = fopen("/sys/devices/system/node/node0/meminfo", "re");
    char line[256];
    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        if (sscanf(line, "Node 0 MemFree: %lu", &v) == 1)
            free_kb = v;
        if (sscanf(line, "Node 0 FilePages: %lu", &v) == 1)
            file_kb = v;
    }
    if (f != NULL)
        fclose(f);
    f = fopen("/proc/sys/vm/min_free_kbytes", "re");
    if (f != NULL) {
        if (fscanf(f, "%lu", &min_kb) != 1)
            min_kb = 0;
        fclose(f);
    }
    char path[256];
    pool_path(path, sizeof(path), kb, "free_hugepages");
    unsigned long pool_free = read_file(path);
    unsigned long by_mem = (free_kb + file_kb - min_kb) / kb + pool_free;
    printf("%lu %lu %lu\n", clear < by_mem ? clear : by_mem, clear, by_mem);
    return 0;
}

/* ---- the three ways of reserving ---------------------------------------- */

static int run_vmrun(unsigned kb, unsigned long pages, int drop)
{
    char dir[] = "/tmp/vmrun-fragbench-XXXXXX";
    if (mkdtemp(dir) == NULL)
        return 1;
    setenv("VMRUN_RUN_DIR", dir, 1);
    char jpath[PATH_MAX];
    snprintf(jpath, sizeof(jpath), "%s/journal", dir);
    struct journal j;
    struct vmrun_error err = {0};
    if (journal_open(&j, jpath, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    struct vm_profile p = {0};
    snprintf(p.name, sizeof(p.name), "fragbench");
    struct host_prep hp = {.profile = &p, .journal = &j, .runtime_dir = dir, .numa_node = -1};
    struct hp_ledger l;
    if (hp_ledger_open(&l, NULL, NULL, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    struct hugepage_policy pol = {.drop_caches = drop != 0};
    struct hugepage_reservation res;
    char path[256];
    pool_path(path, sizeof(path), kb, "nr_hugepages");
    unsigned long before = read_file(path);
    double t0 = now_s();
    int r = hugepages_reserve(&hp, &l, 0, kb, pages, &pol, &res, &err);
    double t = now_s() - t0;
    unsigned long got = r == 0 ? pages : 0;
    if (r == -ENOMEM) {
        /* vmrun gave the pages back before failing; its message has the
         * figure: "got N (". */
        const char *g = strstr(err.msg, "), got ");
        got = g != NULL ? strtoul(g + 7, NULL, 10) : 0;
        fprintf(stderr, "vmrun: %s\n", err.msg);
    } else if (r < 0) {
        fprintf(stderr, "vmrun: %s\n", err.msg);
    }
    hp_ledger_close(&l);
    journal_close(&j);
    (void)before;
    printf("%lu %.3f\n", got, t);
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : 1;
}

static int run_write(unsigned kb, unsigned long pages, int tutorial)
{
    char path[256];
    pool_path(path, sizeof(path), kb, "nr_hugepages");
    unsigned long before = read_file(path), target = before + pages, got = before;
    double t0 = now_s();
    for (int i = 0; i < (tutorial ? 1000 : 1); i++) {
        (void)write_file(path, target);
        got = read_file(path);
        if (got >= target || now_s() - t0 > 120)
            break;
        if (tutorial)
            (void)write_file("/proc/sys/vm/compact_memory", 1);
    }
    printf("%lu %.3f\n", got - before, now_s() - t0);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 6 && strcmp(argv[1], "fragment") == 0)
        return fragment(argv[2], strtoul(argv[3], NULL, 10), strtoul(argv[4], NULL, 10),
                        strtoul(argv[5], NULL, 10));
    if (argc == 3 && strcmp(argv[1], "ceiling") == 0)
        return ceiling((unsigned)strtoul(argv[2], NULL, 10));
    if (argc == 5 && strcmp(argv[1], "vmrun") == 0)
        return run_vmrun((unsigned)strtoul(argv[2], NULL, 10), strtoul(argv[3], NULL, 10),
                         atoi(argv[4]));
    if (argc == 4 && (strcmp(argv[1], "tutorial") == 0 || strcmp(argv[1], "single") == 0))
        return run_write((unsigned)strtoul(argv[2], NULL, 10), strtoul(argv[3], NULL, 10),
                         strcmp(argv[1], "tutorial") == 0);
    fprintf(stderr, "usage: see the comment at the top of %s\n", __FILE__);
    return 2;
}
