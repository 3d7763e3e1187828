/* The guest-memory step (memory_prep.h). */
#include "host/memory/memory_prep.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/cpulist.h"
#include "host/memory/hugepage_ledger.h"
#include "host/memory/hugepages.h"
#include "host/memory/prefault.h"
#include "sys/hostfile.h"
#include "sys/dirs.h"
#include "sys/hostpath.h"

const struct journal_op memory_journal_ops[] = {
    {"hugepages-reserve", hugepages_undo, hugepages_describe},
    {"hugepage-mount", hugepage_mount_undo, hugepage_mount_describe},
    {"hugepage-file", hugepage_file_undo, hugepage_file_describe},
    {NULL, NULL, NULL},
};

static bool node_exists(int node)
{
    char path[PATH_MAX];
    return host_path(path, sizeof(path), HOST_SYS, "/devices/system/node/node%d", node) == 0 &&
           hostfile_exists(path);
}

/* The node of a PCI device that is a display controller (class 0x03xxxx):
 * 1 and *node set when it is one (node -1: the firmware did not say), 0 when
 * it is not a GPU. Only reads sysfs. */
static int gpu_node(const char *bdf, long *node)
{
    char path[PATH_MAX], text[32];
    if (host_path(path, sizeof(path), HOST_SYS, "/bus/pci/devices/%s/class", bdf) < 0 ||
        hostfile_read(path, text, sizeof(text)) < 0)
        return 0;
    unsigned long cls = strtoul(text, NULL, 16);
    if ((cls >> 16) != 0x03)
        return 0;
    *node = -1;
    if (host_path(path, sizeof(path), HOST_SYS, "/bus/pci/devices/%s/numa_node", bdf) == 0)
        (void)hostfile_read_long(path, node);
    return 1;
}

/* The node a CPU belongs to: /sys/devices/system/cpu/cpuN/nodeM, else the
 * node whose cpulist holds it. -1 when neither says. */
static int cpu_node(int cpu)
{
    char path[PATH_MAX];
    if (host_path(path, sizeof(path), HOST_SYS, "/devices/system/cpu/cpu%d", cpu) == 0) {
        cleanup_closedir DIR *d = opendir(path);
        struct dirent *e;
        while (d != NULL && (e = readdir(d)) != NULL) {
            int n;
            char tail;
            if (sscanf(e->d_name, "node%d%c", &n, &tail) == 1 && n >= 0)
                return n;
        }
    }
    if (host_path(path, sizeof(path), HOST_SYS, "/devices/system/node") < 0)
        return -1;
    cleanup_closedir DIR *d = opendir(path);
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        int n;
        char tail;
        if (sscanf(e->d_name, "node%d%c", &n, &tail) != 1 || n < 0)
            continue;
        char lp[PATH_MAX], text[4096];
        struct cpuset_bits set;
        if (host_path(lp, sizeof(lp), HOST_SYS, "/devices/system/node/node%d/cpulist", n) == 0 &&
            hostfile_read(lp, text, sizeof(text)) == 0 && cpulist_parse(text, &set) == 0 &&
            cpuset_has(&set, (unsigned)cpu))
            return n;
    }
    return -1;
}

int memory_pick_node(const struct vm_profile *p, int *node, char *why, size_t why_len,
                     struct vmrun_error *err)
{
    char dummy[8];
    if (why == NULL) {
        why = dummy;
        why_len = sizeof(dummy);
    }
    if (p->memory.numa_node >= 0) {
        if (!node_exists(p->memory.numa_node)) {
            char path[PATH_MAX], online[256] = "?";
            if (host_path(path, sizeof(path), HOST_SYS, "/devices/system/node/online") == 0)
                (void)hostfile_read(path, online, sizeof(online));
            return vmrun_failx(err, EINVAL,
                               "memory.numa_node is %d, but this host has no NUMA node %d "
                               "(its nodes: %s)",
                               p->memory.numa_node, p->memory.numa_node, online);
        }
        *node = p->memory.numa_node;
        snprintf(why, why_len, "memory.numa_node");
        return 0;
    }
    for (size_t i = 0; i < p->n_pci; i++) {
        long n;
        if (!gpu_node(p->pci[i].address, &n))
            continue;
        if (n >= 0 && node_exists((int)n)) {
            *node = (int)n;
            snprintf(why, why_len, "the node of GPU %s", p->pci[i].address);
            return 0;
        }
        break; /* the first GPU's node is unknown: fall back to the vCPUs */
    }
    if (p->cpu.vcpus.n > 0) {
        int n = cpu_node(p->cpu.vcpus.cpus[0]);
        if (n >= 0 && node_exists(n)) {
            *node = n;
            snprintf(why, why_len, "the node of pinned vCPU 0 (host CPU %d)", p->cpu.vcpus.cpus[0]);
            return 0;
        }
    }
    *node = 0;
    snprintf(why, why_len, "the default");
    return 0;
}

/* Whether every user can pass through path and each directory above it:
 * QEMU may run as the invoking user, and its file is handed to it, but not
 * the directories on the way. */
static bool reachable_by_anyone(const char *path)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", path);
    for (;;) {
        struct stat st;
        if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || (st.st_mode & S_IXOTH) == 0)
            return false;
        char *slash = strrchr(dir, '/');
        if (slash == NULL || slash == dir)
            return dir[0] != '/' || dir[1] == '\0' ||
                   (stat("/", &st) == 0 && (st.st_mode & S_IXOTH) != 0);
        *slash = '\0';
    }
}

/* The file's directory: a hugetlbfs of the right page size the host already
 * has, when every user can reach it, else vmrun's own mount at
 * <run root>/.hugetlbfs/NAME-SIZEkB (root's, mode 0711: see
 * hugetlbfs_mount_private). Not under the VM's runtime directory: that one
 * is root's alone (0700) until QEMU's user is given its corner of it, after
 * the memory step; /run/vmrun/.hugetlbfs (0755) lets every user through. */
static int pick_directory(struct host_prep *hp, unsigned page_kb, char *dir, size_t len,
                          struct vmrun_error *err)
{
    int r = hugetlbfs_find_mount(page_kb, dir, len, err);
    if (r < 0 && r != -ENOENT)
        return r;
    if (r == 0 && reachable_by_anyone(dir))
        return 0;
    if (r == 0)
        host_prep_say(hp, "the hugetlbfs mount %s is closed to other users, and QEMU may run as "
                          "one; using vmrun's own", dir);
    char base[PATH_MAX];
    if (host_path(base, sizeof(base), HOST_RUN, "/.hugetlbfs") < 0)
        return vmrun_failx(err, ENAMETOOLONG, "runtime directory path too long");
    if ((r = dir_make(base, 0755, err)) < 0)
        return r;
    int n = snprintf(dir, len, "%s/%s-%ukB", base, hp->profile->name, page_kb);
    if (n < 0 || (size_t)n >= len)
        return vmrun_failx(err, ENAMETOOLONG, "runtime directory path too long");
    host_prep_say(hp, "mounting a hugetlbfs with %u kB pages at %s", page_kb, dir);
    return hugetlbfs_mount_private(hp->journal, dir, page_kb, err);
}

static void say_waiting(void *opaque)
{
    host_prep_say(opaque, "waiting for another vmrun to finish reserving hugepages");
}

/* Reserve the pages in the first size of memory.hugepages the node can
 * give; *page_kb is the one used. With the ledger held. */
static int reserve_preferred(struct host_prep *hp, struct hp_ledger *l, int node,
                             unsigned *page_kb, struct hugepage_reservation *res,
                             struct vmrun_error *err)
{
    const struct vm_profile *p = hp->profile;
    const unsigned sizes[] = {p->memory.hugepage_kb, p->memory.hugepage_fallback_kb};
    struct hugepage_policy pol = {.drop_caches = p->memory.drop_caches};
    int r = -ENOENT;
    for (size_t i = 0; i < 2 && sizes[i] != 0; i++) {
        uint64_t page = (uint64_t)sizes[i] * 1024;
        unsigned long pages = hugepages_for_size(p->memory.size, sizes[i]);
        bool last = i == 1 || sizes[1] == 0;
        struct vmrun_error one = {0};
        r = hugepages_reserve(hp, l, node, sizes[i], pages, &pol, res, &one);
        if (r == 0) {
            *page_kb = sizes[i];
            return 0;
        }
        *err = one;
        if (last || (r != -ENOMEM && r != -ENOENT))
            return r;
        char psz[32], next[32];
        hugepages_format_size(page, psz, sizeof(psz));
        hugepages_format_size((uint64_t)sizes[i + 1] * 1024, next, sizeof(next));
        host_prep_say(hp, "%s; trying %s pages (memory.hugepages)", one.msg, next);
    }
    return r;
}

int memory_prepare(struct host_prep *hp, struct vmrun_error *err)
{
    const struct vm_profile *p = hp->profile;
    hp->memory_file[0] = '\0';
    hp->memory_page_kb = 0;
    if (p->memory.hugepage_kb == 0)
        return 0; /* plain RAM: QEMU allocates it, nothing to prepare */

    int node;
    char why[128];
    int r = memory_pick_node(p, &node, why, sizeof(why), err);
    if (r < 0)
        return r;

    /* The ledger is held from reading the pool until the pages are in the
     * file: no other vmrun may count them as free in between. It is let go
     * before returning, whatever happens, so the plan's rollback can take
     * it. */
    __attribute__((cleanup(hp_ledger_close))) struct hp_ledger ledger = {.lock_fd = -1};
    r = hp_ledger_open(&ledger, say_waiting, hp, err);
    if (r < 0)
        return r;
    unsigned page_kb = 0;
    struct hugepage_reservation res;
    r = reserve_preferred(hp, &ledger, node, &page_kb, &res, err);
    if (r < 0)
        return r;
    uint64_t page = (uint64_t)page_kb * 1024;
    unsigned long pages = hugepages_for_size(p->memory.size, page_kb);
    uint64_t size = (uint64_t)pages * page;

    char dir[PATH_MAX];
    r = pick_directory(hp, page_kb, dir, sizeof(dir), err);
    if (r < 0)
        return r;
    char path[PATH_MAX];
    int n = snprintf(path, sizeof(path), "%s/vmrun-%s.%ld", dir, p->name, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof(path))
        return vmrun_failx(err, ENAMETOOLONG, "hugepage file path too long");
    cleanup_close int fd = -1;
    r = hugepage_file_create(hp->journal, path, size, &fd, err);
    if (r < 0)
        return r;

    struct prefault_stats st = {0};
    r = prefault_file(fd, size, node, 0, hp->interactive ? prefault_progress_stderr : NULL, NULL,
                      &st, err);
    if (r < 0)
        return r;
    hp_ledger_close(&ledger);

    char total_s[32], page_s[32], grow_s[200] = "";
    hugepages_format_size(size, total_s, sizeof(total_s));
    hugepages_format_size(page, page_s, sizeof(page_s));
    if (res.added > 0)
        snprintf(grow_s, sizeof(grow_s), ", the pool grown in %.2f s%s", res.seconds, res.how);
    host_prep_say(hp,
                  "guest memory: %s in %lu %s hugepages on NUMA node %d (%s; %lu reused, %lu "
                  "added%s), prefaulted by %u threads in %.2f s",
                  total_s, pages, page_s, node, why, res.reused, res.added, grow_s, st.threads,
                  st.seconds);
    strcpy(hp->memory_file, path);
    hp->memory_page_kb = page_kb;
    hp->numa_node = node;
    return 0;
}
