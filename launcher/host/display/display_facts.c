/* What the host's display looks like: the GPUs of a profile, their memory,
 * the firmware's framebuffer and the frame-buffer consoles (display.h).
 * Read-only. */
#include "host/display/display.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "sys/hostfile.h"
#include "sys/hostpath.h"

#define IORESOURCE_MEM 0x00000200ULL

/* The last component of a symlink's target, "" when there is none. */
static void link_name(const char *path, char *buf, size_t len)
{
    char target[PATH_MAX];
    buf[0] = '\0';
    ssize_t n = readlink(path, target, sizeof(target) - 1);
    if (n < 0)
        return;
    target[n] = '\0';
    const char *slash = strrchr(target, '/');
    snprintf(buf, len, "%s", slash ? slash + 1 : target);
}

static void read_bars(struct display_gpu *gpu)
{
    char path[PATH_MAX];
    if (host_path(path, sizeof(path), HOST_SYS, "/bus/pci/devices/%s/resource", gpu->address) < 0)
        return;
    cleanup_fclose FILE *f = fopen(path, "re");
    char line[256];
    /* One line per resource: BARs 0-5, then the ROM: start end flags. */
    for (int k = 0; f != NULL && k < 6 && fgets(line, sizeof(line), f) != NULL; k++) {
        unsigned long long start, end, flags;
        if (sscanf(line, "%llx %llx %llx", &start, &end, &flags) != 3)
            continue;
        if (start == 0 || end <= start || !(flags & IORESOURCE_MEM) ||
            gpu->n_bars == DISPLAY_BAR_MAX)
            continue;
        gpu->bars[gpu->n_bars].start = start;
        gpu->bars[gpu->n_bars].end = end;
        gpu->n_bars++;
    }
}

/* The entries of a sysfs directory (devdir/sub, under the sysfs root)
 * whose names start with prefix, space-separated into buf ("" none). */
static void list_entries(const char *devdir, const char *sub, const char *prefix, char *buf,
                         size_t len)
{
    char path[PATH_MAX];
    buf[0] = '\0';
    if (host_path(path, sizeof(path), HOST_SYS, "%s/%s", devdir, sub) < 0)
        return;
    cleanup_closedir DIR *d = opendir(path);
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0)
            continue;
        size_t used = strlen(buf);
        snprintf(buf + used, len - used, "%s%s", used ? " " : "", e->d_name);
    }
}

static void read_fbs(struct display_gpu *gpu)
{
    char devdir[64];
    snprintf(devdir, sizeof(devdir), "/bus/pci/devices/%s", gpu->address);
    list_entries(devdir, "graphics", "fb", gpu->fbs, sizeof(gpu->fbs));
}

int display_gpus_find(const struct vm_profile *p, struct display_gpus *g, struct vmrun_error *err)
{
    memset(g, 0, sizeof(*g));
    for (size_t i = 0; i < p->n_pci; i++) {
        char path[PATH_MAX], buf[64];
        const char *a = p->pci[i].address;
        if (host_path(path, sizeof(path), HOST_SYS, "/bus/pci/devices/%s/class", a) < 0)
            return vmrun_failx(err, ENAMETOOLONG, "sysfs root too long");
        if (hostfile_read(path, buf, sizeof(buf)) < 0)
            continue; /* no such device: the PCI step says so */
        unsigned long cls = strtoul(buf, NULL, 16);
        if ((cls >> 16) != 0x03)
            continue;
        if (g->n == DISPLAY_GPU_MAX)
            return vmrun_failx(err, E2BIG, "more than %d display devices", DISPLAY_GPU_MAX);
        struct display_gpu *gpu = &g->items[g->n++];
        snprintf(gpu->address, sizeof(gpu->address), "%s", a);
        host_path(path, sizeof(path), HOST_SYS, "/bus/pci/devices/%s/driver", a);
        link_name(path, gpu->driver, sizeof(gpu->driver));
        host_path(path, sizeof(path), HOST_SYS, "/bus/pci/devices/%s/iommu_group", a);
        link_name(path, buf, sizeof(buf));
        gpu->group = buf[0] ? atoi(buf) : -1;
        host_path(path, sizeof(path), HOST_SYS, "/bus/pci/devices/%s/boot_vga", a);
        gpu->boot_vga = hostfile_read(path, buf, sizeof(buf)) == 0 && strcmp(buf, "1") == 0;
        read_bars(gpu);
        read_fbs(gpu);
    }
    return 0;
}

void display_boot_vga(char *buf, size_t len)
{
    char path[PATH_MAX], v[16];
    buf[0] = '\0';
    if (host_path(path, sizeof(path), HOST_SYS, "/bus/pci/devices") < 0)
        return;
    cleanup_closedir DIR *d = opendir(path);
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (host_path(path, sizeof(path), HOST_SYS, "/bus/pci/devices/%s/boot_vga", e->d_name) ==
                0 &&
            hostfile_read(path, v, sizeof(v)) == 0 && strcmp(v, "1") == 0) {
            snprintf(buf, len, "%s", e->d_name);
            return;
        }
    }
}

/* ---- the firmware's framebuffer ---- */

static const char *const boot_fb_devices[] = {"efi-framebuffer.", "simple-framebuffer.",
                                              "vesa-framebuffer.", "platform-framebuffer.", NULL};
/* Names the kernel gives the boot framebuffer's memory in /proc/iomem
 * (the platform device's resource, or what its driver reserved). */
static const char *const boot_fb_regions[] = {"BOOTFB", "efifb", "vesafb", "simplefb",
                                              "simpledrm", "simple-framebuffer",
                                              "efi-framebuffer", "vesa-framebuffer", NULL};

static bool in_list(const char *s, const char *const *list, bool prefix)
{
    for (const char *const *x = list; *x != NULL; x++)
        if (prefix ? strncmp(s, *x, strlen(*x)) == 0 : strcmp(s, *x) == 0)
            return true;
    return false;
}

/* A boot framebuffer region of /proc/iomem inside one of the GPUs' BARs:
 * the GPU's address into gpu_out and the region into where. Returns 1
 * found, 0 regions exist but none on a GPU, -1 no region known at all. */
static int boot_fb_region(const struct display_gpus *g, char *gpu_out, size_t glen, char *where,
                          size_t wlen)
{
    char path[PATH_MAX], line[512];
    if (host_path(path, sizeof(path), HOST_PROC, "/iomem") < 0)
        return -1;
    cleanup_fclose FILE *f = fopen(path, "re");
    int found = -1;
    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        unsigned long long start, end;
        char name[256];
        if (sscanf(line, " %llx-%llx : %255[^\n]", &start, &end, name) != 3)
            continue;
        if (!in_list(name, boot_fb_regions, false))
            continue;
        if (start == 0 && end == 0)
            continue; /* addresses hidden from this user */
        if (found < 0)
            found = 0;
        for (size_t k = 0; k < g->n; k++) {
            const struct display_gpu *gpu = &g->items[k];
            for (size_t b = 0; b < gpu->n_bars; b++) {
                if (start >= gpu->bars[b].start && end <= gpu->bars[b].end) {
                    snprintf(gpu_out, glen, "%s", gpu->address);
                    snprintf(where, wlen, "its memory %llx-%llx (%s) is in a BAR of %s", start,
                             end, name, gpu->address);
                    return 1;
                }
            }
        }
    }
    return found;
}

void display_platform_drm(const char *device, char *buf, size_t len)
{
    char devdir[PATH_MAX];
    snprintf(devdir, sizeof(devdir), "/bus/platform/devices/%s", device);
    list_entries(devdir, "drm", "card", buf, len);
}

size_t display_platform_fbs(const struct display_gpus *g, struct display_platform_fb *out,
                            size_t max)
{
    char path[PATH_MAX], gpu[16] = "", where[160] = "";
    int region = boot_fb_region(g, gpu, sizeof(gpu), where, sizeof(where));
    const struct display_gpu *boot = NULL;
    for (size_t k = 0; k < g->n; k++)
        if (g->items[k].boot_vga)
            boot = &g->items[k];
    /* Where the kernel does not say where the framebuffer is, it is the
     * boot display's: the firmware set it up on the boot VGA device. */
    if (region < 0 && boot != NULL)
        snprintf(where, sizeof(where),
                 "the kernel does not say where it is, and %s is the boot VGA device",
                 boot->address);
    if (region == 0 || (region < 0 && boot == NULL))
        return 0;

    if (host_path(path, sizeof(path), HOST_SYS, "/bus/platform/devices") < 0)
        return 0;
    cleanup_closedir DIR *d = opendir(path);
    size_t n = 0;
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL && n < max) {
        if (!in_list(e->d_name, boot_fb_devices, true))
            continue;
        char drv[64];
        if (host_path(path, sizeof(path), HOST_SYS, "/bus/platform/devices/%s/driver",
                      e->d_name) < 0)
            continue;
        link_name(path, drv, sizeof(drv));
        if (drv[0] == '\0')
            continue; /* no driver holds it */
        snprintf(out[n].device, sizeof(out[n].device), "%s", e->d_name);
        snprintf(out[n].driver, sizeof(out[n].driver), "%s", drv);
        snprintf(out[n].where, sizeof(out[n].where), "%s", where);
        display_platform_drm(e->d_name, out[n].drm, sizeof(out[n].drm));
        n++;
    }
    return n;
}

size_t display_fb_vtconsoles(int *idx, bool *bound, size_t max)
{
    char path[PATH_MAX], name[128], b[16];
    size_t n = 0;
    if (host_path(path, sizeof(path), HOST_SYS, "/class/vtconsole") < 0)
        return 0;
    cleanup_closedir DIR *d = opendir(path);
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL && n < max) {
        int k;
        char rest;
        if (sscanf(e->d_name, "vtcon%d%c", &k, &rest) != 1 || k < 0)
            continue;
        if (host_path(path, sizeof(path), HOST_SYS, "/class/vtconsole/%s/name", e->d_name) < 0 ||
            hostfile_read(path, name, sizeof(name)) < 0 ||
            strstr(name, "frame buffer device") == NULL)
            continue;
        if (host_path(path, sizeof(path), HOST_SYS, "/class/vtconsole/%s/bind", e->d_name) < 0 ||
            hostfile_read(path, b, sizeof(b)) < 0)
            continue;
        idx[n] = k;
        bound[n] = strcmp(b, "1") == 0;
        n++;
    }
    return n;
}
