/* The guest-memory step (memory_prep.h). */
#include "host/memory/memory_prep.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/cpulist.h"
#include "host/memory/hugepages.h"
#include "host/memory/prefault.h"
#include "sys/hostfile.h"
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

/* The file's directory: a hugetlbfs of the right page size the host already
 * has, else a private mount under the VM's runtime directory. */
static int pick_directory(struct host_prep *hp, unsigned page_kb, char *dir, size_t len,
                          struct vmrun_error *err)
{
    int r = hugetlbfs_find_mount(page_kb, dir, len, err);
    if (r != -ENOENT)
        return r;
    int n = snprintf(dir, len, "%s/hugepages-%ukB", hp->runtime_dir, page_kb);
    if (n < 0 || (size_t)n >= len)
        return vmrun_failx(err, ENAMETOOLONG, "runtime directory path too long");
    host_prep_say(hp, "no hugetlbfs mount with %u kB pages; mounting one at %s", page_kb, dir);
    return hugetlbfs_mount_private(hp->journal, dir, page_kb, err);
}

int memory_prepare(struct host_prep *hp, struct vmrun_error *err)
{
    const struct vm_profile *p = hp->profile;
    hp->memory_file[0] = '\0';
    if (p->memory.hugepage_kb == 0)
        return 0; /* plain RAM: QEMU allocates it, nothing to prepare */

    unsigned page_kb = p->memory.hugepage_kb;
    uint64_t page = (uint64_t)page_kb * 1024;
    uint64_t size = (p->memory.size + page - 1) / page * page;
    unsigned long pages = (unsigned long)(size / page);

    int node;
    char why[128];
    int r = memory_pick_node(p, &node, why, sizeof(why), err);
    if (r < 0)
        return r;

    struct hugepage_reservation res;
    r = hugepages_reserve(hp, node, page_kb, pages, p->memory.drop_caches, &res, err);
    if (r < 0)
        return r;

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

    char total_s[32], page_s[32];
    hugepages_format_size(size, total_s, sizeof(total_s));
    hugepages_format_size(page, page_s, sizeof(page_s));
    host_prep_say(hp,
                  "guest memory: %s in %lu %s hugepages on NUMA node %d (%s; %lu reused, %lu "
                  "added), prefaulted by %u threads in %.2f s",
                  total_s, pages, page_s, node, why, res.reused, pages - res.reused, st.threads,
                  st.seconds);
    strcpy(hp->memory_file, path);
    hp->numa_node = node;
    return 0;
}
