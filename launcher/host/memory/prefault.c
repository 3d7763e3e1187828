/* The guest's memory file: hugetlbfs mount, file, placement and prefault
 * (prefault.h). */
#include "host/memory/prefault.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <numaif.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/cpulist.h"
#include "journal/opargs.h"
#include "sys/hostfile.h"
#include "sys/hostpath.h"

#define OP_MOUNT "hugepage-mount"
#define OP_FILE "hugepage-file"

#define HUGETLBFS_MAGIC_NUMBER 0x958458f6

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define PREFAULT_MAX_THREADS 16
#define PREFAULT_CHUNK (64ULL << 20) /* unit of work handed to one thread */

/* ---- finding a hugetlbfs mount ---------------------------------------- */

/* mountinfo escapes ' ', '\t', '\n' and '\\' as \ooo. */
static void unescape_octal(char *s)
{
    char *w = s;
    for (char *r = s; *r != '\0';) {
        if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
            r[3] >= '0' && r[3] <= '7') {
            *w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
            r += 4;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
}

/* "2M", "2048K", "1G", "1024M" as kB; 0 when unreadable. */
static unsigned long parse_size_kb(const char *s)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s)
        return 0;
    switch (*end) {
    case 'k':
    case 'K':
        break;
    case 'm':
    case 'M':
        v *= 1024;
        break;
    case 'g':
    case 'G':
        v *= 1024 * 1024;
        break;
    case '\0':
    case ',':
        v /= 1024;
        break;
    default:
        return 0;
    }
    return (unsigned long)v;
}

static unsigned long default_hugepage_kb(void)
{
    char path[PATH_MAX];
    if (host_path(path, sizeof(path), HOST_PROC, "/meminfo") < 0)
        return 0;
    cleanup_fclose FILE *f = fopen(path, "re");
    if (f == NULL)
        return 0;
    char line[256];
    unsigned long kb;
    while (fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, "Hugepagesize: %lu kB", &kb) == 1)
            return kb;
    return 0;
}

int hugetlbfs_find_mount(unsigned page_kb, char *buf, size_t len, struct vmrun_error *err)
{
    char path[PATH_MAX];
    if (host_path(path, sizeof(path), HOST_PROC, "/self/mountinfo") < 0)
        return vmrun_failx(err, ENAMETOOLONG, "mountinfo path too long");
    cleanup_fclose FILE *f = fopen(path, "re");
    if (f == NULL)
        return vmrun_fail(err, errno, "open %s", path);
    const char *run_root = host_root(HOST_RUN);
    size_t run_len = strlen(run_root);
    cleanup_free char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        /* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER */
        char *sep = strstr(line, " - ");
        if (sep == NULL)
            continue;
        *sep = '\0';
        char fstype[64], super[1024];
        if (sscanf(sep + 3, "%63s %*s %1023s", fstype, super) != 2 ||
            strcmp(fstype, "hugetlbfs") != 0)
            continue;
        char mnt[PATH_MAX], opts[256];
        if (sscanf(line, "%*s %*s %*s %*s %4095s %255s", mnt, opts) != 2)
            continue;
        unescape_octal(mnt);
        if (strncmp(opts, "rw", 2) != 0 || (opts[2] != '\0' && opts[2] != ',') ||
            (strncmp(super, "ro", 2) == 0 && (super[2] == '\0' || super[2] == ',')))
            continue; /* read-only */
        /* Another VM's private mount goes away when that VM stops. */
        if (strncmp(mnt, run_root, run_len) == 0 && (mnt[run_len] == '/' || mnt[run_len] == 0))
            continue;
        const char *ps = strstr(super, "pagesize=");
        unsigned long kb = ps != NULL ? parse_size_kb(ps + 9) : default_hugepage_kb();
        if (kb != page_kb)
            continue;
        if (strlen(mnt) >= len)
            return vmrun_failx(err, ENAMETOOLONG, "hugetlbfs mount path too long: %s", mnt);
        strcpy(buf, mnt);
        return 0;
    }
    return -ENOENT;
}

/* ---- private mount ---------------------------------------------------- */

static bool is_hugetlbfs(const char *path)
{
    struct statfs s;
    return statfs(path, &s) == 0 && (unsigned long)s.f_type == HUGETLBFS_MAGIC_NUMBER;
}

int hugetlbfs_mount_private(struct journal *j, const char *dir, unsigned page_kb,
                            struct vmrun_error *err)
{
    cJSON *args = cJSON_CreateObject();
    if (args == NULL)
        return vmrun_fail(err, ENOMEM, "journal hugetlbfs mount");
    cJSON_AddStringToObject(args, "path", dir);
    cJSON_AddNumberToObject(args, "page_kb", page_kb);
    int r = journal_record(j, OP_MOUNT, args, err);
    if (r < 0)
        return r;
    if (mkdir(dir, 0711) < 0 && errno != EEXIST)
        return vmrun_fail(err, errno, "create %s", dir);
    /* Root's, and 0711: QEMU, which may run as the invoking user, reaches
     * its file (handed over to it, priv/priv_handover.h) through the mount
     * but can neither list it nor create files that would take pages from
     * the pool. */
    char opts[64];
    snprintf(opts, sizeof(opts), "pagesize=%uK,mode=0711,uid=0,gid=0", page_kb);
    if (mount("hugetlbfs", dir, "hugetlbfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, opts) < 0)
        return vmrun_fail(err, errno, "mount hugetlbfs (%s) on %s", opts, dir);
    return journal_done(j, err);
}

int hugepage_mount_undo(const cJSON *args, struct vmrun_error *err)
{
    const char *path = oparg_string(args, "path");
    if (path == NULL || path[0] != '/')
        return vmrun_failx(err, EINVAL, "malformed %s record", OP_MOUNT);
    /* Only ever unmount a hugetlbfs: after a crash before the mount, or a
     * second undo, the path is a plain directory (or gone). */
    if (is_hugetlbfs(path) && umount2(path, UMOUNT_NOFOLLOW) < 0 && errno != EINVAL &&
        errno != ENOENT)
        return vmrun_fail(err, errno, "unmount %s", path);
    if (rmdir(path) < 0 && errno != ENOENT)
        return vmrun_fail(err, errno, "remove %s", path);
    return 0;
}

void hugepage_mount_describe(const cJSON *args, char *buf, size_t len)
{
    const char *path = oparg_string(args, "path");
    snprintf(buf, len, "unmount hugetlbfs %s", path != NULL ? path : "(malformed record)");
}

/* ---- the file --------------------------------------------------------- */

int hugepage_file_create(struct journal *j, const char *path, uint64_t size, int *fd,
                         struct vmrun_error *err)
{
    *fd = -1;
    cJSON *args = cJSON_CreateObject();
    if (args == NULL)
        return vmrun_fail(err, ENOMEM, "journal hugepage file");
    cJSON_AddStringToObject(args, "path", path);
    int r = journal_record(j, OP_FILE, args, err);
    if (r < 0)
        return r;
    cleanup_close int f = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (f < 0)
        return vmrun_fail(err, errno, "create %s", path);
    r = journal_done(j, err);
    if (r < 0)
        return r;
    if (ftruncate(f, (off_t)size) < 0)
        return vmrun_fail(err, errno, "set the size of %s to %llu bytes", path,
                          (unsigned long long)size);
    *fd = steal_fd(&f);
    return 0;
}

int hugepage_file_undo(const cJSON *args, struct vmrun_error *err)
{
    const char *path = oparg_string(args, "path");
    if (path == NULL || path[0] != '/')
        return vmrun_failx(err, EINVAL, "malformed %s record", OP_FILE);
    if (unlink(path) < 0 && errno != ENOENT)
        return vmrun_fail(err, errno, "remove %s", path);
    return 0;
}

void hugepage_file_describe(const cJSON *args, char *buf, size_t len)
{
    const char *path = oparg_string(args, "path");
    snprintf(buf, len, "remove guest memory file %s", path != NULL ? path : "(malformed record)");
}

/* ---- prefault --------------------------------------------------------- */

struct prefault_job {
    char *base;
    uint64_t size;
    uint64_t chunk;
    _Atomic uint64_t next; /* offset of the next chunk to hand out */
    _Atomic uint64_t done; /* bytes populated */
    _Atomic int error;     /* first errno; stops everyone */
};

struct prefault_worker {
    pthread_t thread;
    struct prefault_job *job;
    int cpu; /* -1: not pinned */
};

static void *prefault_worker_main(void *arg)
{
    struct prefault_worker *w = arg;
    struct prefault_job *job = w->job;
    if (w->cpu >= 0) {
        /* Pinning is for speed (zeroing local memory); placement comes from
         * the mbind policy, so a refused pin is not an error. */
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET((size_t)w->cpu, &set);
        (void)pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
    }
    while (atomic_load(&job->error) == 0) {
        uint64_t off = atomic_fetch_add(&job->next, job->chunk);
        if (off >= job->size)
            break;
        uint64_t len = job->size - off < job->chunk ? job->size - off : job->chunk;
        int r;
        do
            r = madvise(job->base + off, len, MADV_POPULATE_WRITE);
        while (r < 0 && errno == EINTR);
        if (r < 0) {
            int expected = 0;
            atomic_compare_exchange_strong(&job->error, &expected, errno);
            break;
        }
        atomic_fetch_add(&job->done, len);
    }
    return NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int node_cpus(int node, struct cpuset_bits *out)
{
    char path[PATH_MAX], text[4096];
    cpuset_zero(out);
    if (host_path(path, sizeof(path), HOST_SYS, "/devices/system/node/node%d/cpulist", node) < 0)
        return -ENAMETOOLONG;
    int r = hostfile_read(path, text, sizeof(text));
    if (r < 0)
        return r;
    return cpulist_parse(text, out);
}

static int bind_to_node(void *addr, uint64_t size, int node, struct vmrun_error *err)
{
    unsigned long mask[CPUSET_MAX / (8 * sizeof(unsigned long))] = {0};
    if (node < 0 || (size_t)node >= sizeof(mask) * 8)
        return vmrun_failx(err, EINVAL, "NUMA node %d out of range", node);
    mask[(size_t)node / (8 * sizeof(unsigned long))] |= 1UL << ((size_t)node % (8 * sizeof(long)));
    if (mbind(addr, size, MPOL_BIND, mask, sizeof(mask) * 8, 0) < 0)
        return vmrun_fail(err, errno, "bind guest memory to NUMA node %d (mbind)", node);
    return 0;
}

int prefault_file(int fd, uint64_t size, int node, unsigned threads, prefault_progress_fn progress,
                  void *opaque, struct prefault_stats *stats, struct vmrun_error *err)
{
    if (size == 0)
        return 0;
    void *base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) {
        if (errno == ENOMEM)
            return vmrun_fail(err, errno,
                              "map %llu bytes of guest memory: the hugepage pool has too few "
                              "free pages",
                              (unsigned long long)size);
        return vmrun_fail(err, errno, "map guest memory");
    }

    int r = 0;
    if (node >= 0)
        r = bind_to_node(base, size, node, err);

    struct cpuset_bits cpus;
    cpuset_zero(&cpus);
    if (r == 0 && node >= 0)
        (void)node_cpus(node, &cpus);
    size_t ncpus = cpuset_count(&cpus);
    if (threads == 0)
        threads = ncpus > 0 ? (unsigned)ncpus : 1;
    if (threads > PREFAULT_MAX_THREADS)
        threads = PREFAULT_MAX_THREADS;

    /* Chunks small enough that the threads finish together: a thread left
     * alone with the last big chunk was most of the fixed cost at 1 GiB
     * (README, Benchmarks); about 32 per thread, 64 MiB at most. A chunk
     * must be whole pages: hugetlbfs reports its page size as the file's
     * block size. */
    uint64_t page = 2ULL << 20;
    struct stat st;
    if (fstat(fd, &st) == 0 && st.st_blksize > 0)
        page = (uint64_t)st.st_blksize;
    uint64_t chunk = size / ((uint64_t)(threads > 0 ? threads : 1) * 32);
    chunk = chunk / page * page;
    if (chunk < page)
        chunk = page;
    if (chunk > PREFAULT_CHUNK)
        chunk = PREFAULT_CHUNK > page ? PREFAULT_CHUNK / page * page : page;
    struct prefault_job job = {.base = base, .size = size, .chunk = chunk};
    uint64_t nchunks = (size + job.chunk - 1) / job.chunk;
    if (threads > nchunks)
        threads = (unsigned)nchunks;

    struct prefault_worker workers[PREFAULT_MAX_THREADS];
    unsigned started = 0;
    double t0 = now_s();
    bool shown = false;
    if (r == 0) {
        int cpu = -1;
        for (unsigned i = 0; i < threads; i++) {
            if (ncpus > 0) {
                cpu = cpuset_next(&cpus, (unsigned)(cpu + 1));
                if (cpu < 0)
                    cpu = cpuset_next(&cpus, 0);
            }
            workers[i].job = &job;
            workers[i].cpu = cpu;
            int pr = pthread_create(&workers[i].thread, NULL, prefault_worker_main, &workers[i]);
            if (pr != 0) {
                if (started == 0)
                    r = vmrun_fail(err, pr, "start a prefault thread");
                break;
            }
            started++;
        }
        /* Wait in the kernel, not in a polling loop: on a small host the
         * workers have every CPU, and a waiter waking up every few
         * milliseconds would take time from them. The bar (once the work
         * has taken over a second) is redrawn about ten times a second. */
        for (unsigned i = 0; i < started; i++) {
            for (;;) {
                struct timespec until;
                clock_gettime(CLOCK_REALTIME, &until);
                until.tv_nsec += 100 * 1000 * 1000;
                if (until.tv_nsec >= 1000000000L) {
                    until.tv_sec++;
                    until.tv_nsec -= 1000000000L;
                }
                if (pthread_timedjoin_np(workers[i].thread, NULL, &until) == 0)
                    break;
                if (progress != NULL && now_s() - t0 >= 1.0) {
                    progress(opaque, atomic_load(&job.done), size);
                    shown = true;
                }
            }
        }
    }
    double elapsed = now_s() - t0;
    if (shown)
        progress(opaque, atomic_load(&job.done), size);
    munmap(base, size);
    if (r < 0)
        return r;

    int e = atomic_load(&job.error);
    if (e == EINVAL)
        return vmrun_failx(err, e,
                           "prefault guest memory: this kernel lacks MADV_POPULATE_WRITE "
                           "(Linux 5.14 or later is needed)");
    if (e == EFAULT || e == ENOMEM) {
        char where[32] = "";
        if (node >= 0)
            snprintf(where, sizeof(where), " on NUMA node %d", node);
        return vmrun_failx(err, ENOMEM,
                           "prefault guest memory: the kernel could not supply a hugepage%s "
                           "after %llu of %llu MiB (the pool there ran out)",
                           where, (unsigned long long)(atomic_load(&job.done) >> 20),
                           (unsigned long long)(size >> 20));
    }
    if (e != 0)
        return vmrun_fail(err, e, "prefault guest memory");
    if (stats != NULL) {
        stats->threads = started;
        stats->seconds = elapsed;
    }
    return 0;
}

void prefault_progress_stderr(void *opaque, uint64_t done, uint64_t total)
{
    (void)opaque;
    enum { WIDTH = 30 };
    unsigned pct = total > 0 ? (unsigned)(done * 100 / total) : 100;
    char bar[WIDTH + 1];
    unsigned fill = pct * WIDTH / 100;
    for (unsigned i = 0; i < WIDTH; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[WIDTH] = '\0';
    fprintf(stderr, "\rprefaulting guest memory [%s] %3u%% %.1f/%.1f GiB", bar, pct,
            (double)done / (1 << 30), (double)total / (1 << 30));
    if (done >= total)
        fputc('\n', stderr);
    fflush(stderr);
}
