/* Prefault throughput, one measurement per run (run-prefault-bench.sh
 * drives it and prints the table). Prints the seconds taken on stdout.
 *
 *   prefault_bench vmrun DIR SIZE_MIB THREADS   vmrun's prefault_file() on a
 *                                               new file in hugetlbfs DIR,
 *                                               bound to node 0 (THREADS 0:
 *                                               one per CPU of the node)
 *   prefault_bench bound SIZE_MIB THREADS       the first-touch bound: an
 *                                               anonymous MAP_HUGETLB mapping
 *                                               touched one byte per 2 MiB
 *                                               page from THREADS threads
 *
 * The pool must already hold the pages. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "host/memory/prefault.h"

#define PAGE (2UL << 20)

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct toucher {
    pthread_t t;
    volatile char *base;
    size_t from, to; /* byte offsets */
    int cpu;
};

static void *touch(void *arg)
{
    struct toucher *w = arg;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET((size_t)w->cpu, &set);
    (void)pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
    for (size_t off = w->from; off < w->to; off += PAGE)
        w->base[off] = 1;
    return NULL;
}

static int run_bound(size_t size, unsigned threads)
{
    void *m =
        mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
    if (m == MAP_FAILED) {
        perror("mmap MAP_HUGETLB");
        return 1;
    }
    struct toucher w[64];
    if (threads == 0 || threads > 64)
        threads = 1;
    size_t pages = size / PAGE;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    double t0 = now_s();
    for (unsigned i = 0; i < threads; i++) {
        w[i].base = m;
        w[i].from = pages * i / threads * PAGE;
        w[i].to = pages * (i + 1) / threads * PAGE;
        w[i].cpu = (int)(i % (unsigned)(ncpu > 0 ? ncpu : 1));
        pthread_create(&w[i].t, NULL, touch, &w[i]);
    }
    for (unsigned i = 0; i < threads; i++)
        pthread_join(w[i].t, NULL);
    double t = now_s() - t0;
    munmap(m, size);
    printf("%.4f\n", t);
    return 0;
}

static int run_vmrun(const char *dir, size_t size, unsigned threads)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/bench.%ld", dir, (long)getpid());
    cleanup_close int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || ftruncate(fd, (off_t)size) < 0) {
        perror(path);
        unlink(path);
        return 1;
    }
    struct prefault_stats st = {0};
    struct vmrun_error err = {0};
    double t0 = now_s();
    int r = prefault_file(fd, size, 0, threads, NULL, NULL, &st, &err);
    double t = now_s() - t0;
    unlink(path);
    if (r < 0) {
        fprintf(stderr, "prefault: %s\n", err.msg);
        return 1;
    }
    /* Total time including map, mbind and unmap, as vmrun pays it. */
    printf("%.4f %u\n", t, st.threads);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "vmrun") == 0)
        return run_vmrun(argv[2], strtoull(argv[3], NULL, 10) << 20,
                         (unsigned)strtoul(argv[4], NULL, 10));
    if (argc == 4 && strcmp(argv[1], "bound") == 0)
        return run_bound(strtoull(argv[2], NULL, 10) << 20, (unsigned)strtoul(argv[3], NULL, 10));
    fprintf(stderr, "usage: %s vmrun DIR SIZE_MIB THREADS | bound SIZE_MIB THREADS\n", argv[0]);
    return 2;
}
