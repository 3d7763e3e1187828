/* The /dev nodes of a PCI device and who holds them (devnodes.h). */
#include "sys/devnodes.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "sys/hostfile.h"
#include "sys/hostpath.h"

struct node_list {
    char (*paths)[PATH_MAX];
    size_t n, cap;
};

static int node_add(struct node_list *l, const char *path)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        char(*np)[PATH_MAX] = realloc(l->paths, cap * sizeof(*np));
        if (np == NULL)
            return -ENOMEM;
        l->paths = np;
        l->cap = cap;
    }
    snprintf(l->paths[l->n++], PATH_MAX, "%s", path);
    return 0;
}

static int dev_node(struct node_list *l, const char *name)
{
    char path[PATH_MAX];
    if (host_path(path, sizeof(path), HOST_DEV, "/%s", name) < 0)
        return -ENAMETOOLONG;
    return node_add(l, path);
}

/* The minor number the nvidia driver gave a GPU, or -1. */
static int nvidia_minor(const char *address)
{
    char path[PATH_MAX];
    if (host_path(path, sizeof(path), HOST_PROC, "/driver/nvidia/gpus/%s/information", address) < 0)
        return -1;
    cleanup_fclose FILE *f = fopen(path, "re");
    if (f == NULL)
        return -1;
    char line[256];
    while (fgets(line, sizeof(line), f) != NULL) {
        int minor;
        if (sscanf(line, "Device Minor: %d", &minor) == 1)
            return minor;
    }
    return -1;
}

/* Entries of the device's sysfs subdirectory sub (devdir: the device's
 * directory under the sysfs root) whose names start with one of the
 * prefixes, as nodes under dir of the /dev root. */
static int listed_nodes(struct node_list *l, const char *devdir, const char *sub,
                        const char *const *prefixes, const char *dir)
{
    char path[PATH_MAX];
    if (host_path(path, sizeof(path), HOST_SYS, "%s/%s", devdir, sub) < 0)
        return -ENAMETOOLONG;
    cleanup_closedir DIR *d = opendir(path);
    if (d == NULL)
        return 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        bool match = false;
        for (const char *const *p = prefixes; *p != NULL; p++)
            match |= strncmp(e->d_name, *p, strlen(*p)) == 0;
        if (!match)
            continue;
        char name[300];
        snprintf(name, sizeof(name), "%s%s", dir, e->d_name);
        int r = dev_node(l, name);
        if (r < 0)
            return r;
    }
    return 0;
}

/* The DRM and framebuffer nodes of the device at devdir. */
static int display_nodes(const char *devdir, struct node_list *l)
{
    static const char *const drm[] = {"card", "renderD", NULL};
    static const char *const fb[] = {"fb", NULL};
    int r = listed_nodes(l, devdir, "drm", drm, "dri/");
    return r < 0 ? r : listed_nodes(l, devdir, "graphics", fb, "");
}

static int device_nodes(const char *address, const char *driver, int group, struct node_list *l)
{
    char devdir[PATH_MAX];
    snprintf(devdir, sizeof(devdir), "/bus/pci/devices/%s", address);
    int r = display_nodes(devdir, l);
    if (r < 0)
        return r;
    if (strcmp(driver, "nvidia") == 0) {
        /* The control nodes serve every NVIDIA GPU: a process holding
         * them (nvidia-persistenced, a temperature poller) blocks the
         * unbind of each. */
        static const char *const shared[] = {"nvidiactl", "nvidia-modeset", "nvidia-uvm",
                                             "nvidia-uvm-tools"};
        for (size_t k = 0; k < ARRAY_SIZE(shared); k++)
            if ((r = dev_node(l, shared[k])) < 0)
                return r;
        int minor = nvidia_minor(address);
        for (int m = minor >= 0 ? minor : 0; m <= (minor >= 0 ? minor : 31); m++) {
            char name[32];
            snprintf(name, sizeof(name), "nvidia%d", m);
            if ((r = dev_node(l, name)) < 0)
                return r;
        }
    }
    if (strcmp(driver, "vfio-pci") == 0 && group >= 0) {
        char name[32];
        snprintf(name, sizeof(name), "vfio/%d", group);
        if ((r = dev_node(l, name)) < 0)
            return r;
    }
    return 0;
}

static bool all_digits(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return false;
    return true;
}

/* The cgroup v2 path of a process ("0::/path"), "" when unknown. */
static void process_cgroup(const char *pid, char *buf, size_t len)
{
    char path[PATH_MAX], line[1024];
    buf[0] = '\0';
    if (host_path(path, sizeof(path), HOST_PROC, "/%s/cgroup", pid) < 0)
        return;
    cleanup_fclose FILE *f = fopen(path, "re");
    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "0::", 3) != 0)
            continue;
        line[strcspn(line, "\n")] = '\0';
        snprintf(buf, len, "%s", line + 3);
        return;
    }
}

static int holder_add(struct dev_holders *h, pid_t pid, const char *comm, const char *node,
                      const char *cgroup)
{
    for (size_t k = 0; k < h->n; k++)
        if (h->items[k].pid == pid && strcmp(h->items[k].node, node) == 0)
            return 0;
    struct dev_holder *ni = realloc(h->items, (h->n + 1) * sizeof(*ni));
    if (ni == NULL)
        return -ENOMEM;
    h->items = ni;
    struct dev_holder *x = &h->items[h->n++];
    x->pid = pid;
    snprintf(x->comm, sizeof(x->comm), "%s", comm);
    snprintf(x->node, sizeof(x->node), "%s", node);
    snprintf(x->cgroup, sizeof(x->cgroup), "%s", cgroup);
    return 0;
}

/* The processes holding one of the nodes (which this frees), into out;
 * what names the device in messages. */
static int find_holders(struct node_list nodes, const char *what, struct dev_holders *out,
                        struct vmrun_error *err)
{
    out->items = NULL;
    out->n = 0;
    if (nodes.n == 0) {
        free(nodes.paths);
        return 0;
    }

    char proc[PATH_MAX];
    if (host_path(proc, sizeof(proc), HOST_PROC, "/") < 0) {
        free(nodes.paths);
        return vmrun_failx(err, ENAMETOOLONG, "procfs root too long");
    }
    cleanup_closedir DIR *pd = opendir(proc);
    if (pd == NULL) {
        free(nodes.paths);
        return vmrun_fail(err, errno, "open %s", proc);
    }
    int r;
    struct dirent *pe;
    while ((pe = readdir(pd)) != NULL) {
        if (!all_digits(pe->d_name))
            continue;
        char fddir[PATH_MAX];
        if (host_path(fddir, sizeof(fddir), HOST_PROC, "/%s/fd", pe->d_name) < 0)
            continue;
        cleanup_closedir DIR *fdd = opendir(fddir);
        if (fdd == NULL)
            continue; /* gone, or not ours to read */
        struct dirent *fe;
        while ((fe = readdir(fdd)) != NULL) {
            if (fe->d_name[0] == '.')
                continue;
            char link[PATH_MAX + 300], target[PATH_MAX];
            snprintf(link, sizeof(link), "%s/%s", fddir, fe->d_name);
            ssize_t n = readlink(link, target, sizeof(target) - 1);
            if (n < 0)
                continue;
            target[n] = '\0';
            for (size_t k = 0; k < nodes.n; k++) {
                if (strcmp(target, nodes.paths[k]) != 0)
                    continue;
                char comm_path[PATH_MAX], comm[32] = "?", cgroup[512];
                if (host_path(comm_path, sizeof(comm_path), HOST_PROC, "/%s/comm", pe->d_name) == 0)
                    hostfile_read(comm_path, comm, sizeof(comm));
                process_cgroup(pe->d_name, cgroup, sizeof(cgroup));
                r = holder_add(out, (pid_t)atoi(pe->d_name), comm, target, cgroup);
                if (r < 0) {
                    free(nodes.paths);
                    devnodes_holders_free(out);
                    return vmrun_fail(err, -r, "list holders of %s", what);
                }
            }
        }
    }
    free(nodes.paths);
    return 0;
}

int devnodes_find_holders(const char *address, const char *driver, int group,
                          struct dev_holders *out, struct vmrun_error *err)
{
    out->items = NULL;
    out->n = 0;
    struct node_list nodes = {0};
    int r = device_nodes(address, driver, group, &nodes);
    if (r < 0) {
        free(nodes.paths);
        return vmrun_fail(err, -r, "%s: list device nodes", address);
    }
    return find_holders(nodes, address, out, err);
}

int devnodes_find_platform_holders(const char *device, struct dev_holders *out,
                                   struct vmrun_error *err)
{
    out->items = NULL;
    out->n = 0;
    char devdir[PATH_MAX];
    if (snprintf(devdir, sizeof(devdir), "/bus/platform/devices/%s", device) >= (int)sizeof(devdir))
        return vmrun_failx(err, ENAMETOOLONG, "platform device name too long");
    struct node_list nodes = {0};
    int r = display_nodes(devdir, &nodes);
    if (r < 0) {
        free(nodes.paths);
        return vmrun_fail(err, -r, "%s: list device nodes", device);
    }
    return find_holders(nodes, device, out, err);
}

void devnodes_holders_free(struct dev_holders *h)
{
    free(h->items);
    h->items = NULL;
    h->n = 0;
}

void devnodes_holders_describe(const struct dev_holders *h, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t k = 0; k < h->n && used < len; k++) {
        int n = snprintf(buf + used, len - used, "%s%s (pid %d) has %s open", k ? ", " : "",
                         h->items[k].comm, (int)h->items[k].pid, h->items[k].node);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

int devnodes_cgroup_has_unit(const char *cgroup, const char *unit)
{
    size_t n = strlen(unit);
    if (n == 0)
        return 0;
    for (const char *p = cgroup; (p = strstr(p, unit)) != NULL; p++) {
        bool starts = p == cgroup || p[-1] == '/';
        bool ends = p[n] == '\0' || p[n] == '/';
        if (starts && ends)
            return 1;
    }
    return 0;
}
