#include "host/pci/pci_host.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pci/pci.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "host/pci/pci_sysfs.h"
#include "sys/hostpath.h"

/* libpci reports fatal errors through a callback that must not return (its
 * default prints and exits). vmrun's library code never exits, so the
 * callback jumps back into pci_host_scan() with the message. */
static __thread jmp_buf *libpci_escape;
static __thread char libpci_msg[512];

static void __attribute__((noreturn, format(printf, 1, 2))) libpci_error(char *msg, ...)
{
    va_list ap;
    va_start(ap, msg);
    vsnprintf(libpci_msg, sizeof(libpci_msg), msg, ap);
    va_end(ap);
    longjmp(*libpci_escape, 1);
}

static void __attribute__((format(printf, 1, 2))) libpci_quiet(char *msg, ...)
{
    /* Warnings (a missing pci.ids, say) only make names numeric. */
}

int pci_normalize_address(const char *in, char out[PCI_ADDR_LEN])
{
    unsigned dom = 0, bus, slot, func;
    int n = 0;
    if (sscanf(in, "%x:%x:%x.%x%n", &dom, &bus, &slot, &func, &n) != 4 || in[n] != '\0') {
        /* The short form leaves the domain out. */
        dom = 0;
        n = 0;
        if (sscanf(in, "%x:%x.%x%n", &bus, &slot, &func, &n) != 3 || in[n] != '\0')
            return -EINVAL;
    }
    if (dom > 0xffff || bus > 0xff || slot > 0x1f || func > 7)
        return -EINVAL;
    snprintf(out, PCI_ADDR_LEN, "%04x:%02x:%02x.%x", dom, bus, slot, func);
    return 0;
}

const char *pci_dev_label(const struct pci_dev_info *d, char *buf, size_t len)
{
    snprintf(buf, len, "%s %s", d->address, d->name);
    return buf;
}

bool pci_is_bridge(const struct pci_dev_info *d)
{
    return d->class_code == 0x0604 || d->class_code == 0x0609 || d->class_code == 0x0607;
}

bool pci_iommu_enabled(void)
{
    char path[PATH_MAX];
    if (host_path(path, sizeof(path), HOST_SYS, "/kernel/iommu_groups") < 0)
        return false;
    cleanup_closedir DIR *d = opendir(path);
    if (d == NULL)
        return false;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            return true;
    return false;
}

int pci_current_driver(const char *address, char *buf, size_t len)
{
    char path[PATH_MAX];
    buf[0] = '\0';
    if (host_path(path, sizeof(path), HOST_SYS, "/bus/pci/devices/%s", address) < 0)
        return -ENAMETOOLONG;
    if (!pci_sysfs_exists(path))
        return -ENODEV;
    if (host_path(path, sizeof(path), HOST_SYS, "/bus/pci/devices/%s/driver", address) < 0)
        return -ENAMETOOLONG;
    int r = pci_sysfs_link_name(path, buf, len);
    return r == -ENOENT ? 0 : r;
}

int pci_iommu_group(const char *address)
{
    char path[PATH_MAX], name[32];
    if (host_path(path, sizeof(path), HOST_SYS, "/bus/pci/devices/%s/iommu_group", address) < 0)
        return -1;
    if (pci_sysfs_link_name(path, name, sizeof(name)) < 0)
        return -1;
    char *end;
    long g = strtol(name, &end, 10);
    return *end == '\0' && g >= 0 && g <= INT_MAX ? (int)g : -1;
}

static void read_sysfs_facts(struct pci_dev_info *d)
{
    char path[PATH_MAX], buf[64];
    pci_current_driver(d->address, d->driver, sizeof(d->driver));
    d->iommu_group = pci_iommu_group(d->address);
    d->numa_node = -1;
    if (host_path(path, sizeof(path), HOST_SYS, "/bus/pci/devices/%s/numa_node", d->address) == 0 &&
        pci_sysfs_read(path, buf, sizeof(buf)) == 0)
        d->numa_node = atoi(buf);
    if (host_path(path, sizeof(path), HOST_SYS, "/bus/pci/devices/%s/reset_method", d->address) ==
        0)
        pci_sysfs_read(path, d->reset_method, sizeof(d->reset_method));
    if (host_path(path, sizeof(path), HOST_SYS, "/bus/pci/devices/%s/boot_vga", d->address) == 0 &&
        pci_sysfs_read(path, buf, sizeof(buf)) == 0)
        d->boot_vga = strcmp(buf, "1") == 0;
}

static int cmp_dev(const void *a, const void *b)
{
    return strcmp(((const struct pci_dev_info *)a)->address,
                  ((const struct pci_dev_info *)b)->address);
}

/* The libpci part. Kept apart so that nothing but `acc` and `out` live
 * across the setjmp. */
static int libpci_scan(const char *bus_path, struct pci_host *out, struct vmrun_error *err)
{
    jmp_buf escape;
    struct pci_access *volatile acc = pci_alloc();
    if (acc == NULL)
        return vmrun_fail(err, ENOMEM, "libpci");
    acc->error = libpci_error;
    acc->warning = libpci_quiet;
    acc->debug = libpci_quiet;
    libpci_escape = &escape;
    if (setjmp(escape) != 0) {
        libpci_escape = NULL;
        /* libpci's state after its error callback is unknown: freeing it
         * could touch half-built lists, so it is leaked (once, on a path
         * that ends the command). */
        return vmrun_failx(err, EIO, "libpci: %s", libpci_msg);
    }
    acc->method = PCI_ACCESS_SYS_BUS_PCI;
    if (pci_set_param(acc, (char *)"sysfs.path", (char *)bus_path) < 0) {
        pci_cleanup(acc);
        libpci_escape = NULL;
        return vmrun_failx(err, EINVAL, "libpci has no sysfs.path parameter");
    }
    pci_init(acc);
    pci_scan_bus(acc);

    size_t n = 0;
    for (struct pci_dev *d = acc->devices; d != NULL; d = d->next)
        n++;
    out->devs = calloc(n ? n : 1, sizeof(*out->devs));
    if (out->devs == NULL) {
        pci_cleanup(acc);
        libpci_escape = NULL;
        return vmrun_fail(err, ENOMEM, "libpci scan");
    }
    out->n = 0;
    for (struct pci_dev *d = acc->devices; d != NULL; d = d->next) {
        struct pci_dev_info *i = &out->devs[out->n++];
        pci_fill_info(d, PCI_FILL_IDENT | PCI_FILL_CLASS);
        i->domain = (unsigned)d->domain;
        i->bus = d->bus;
        i->slot = d->dev;
        i->func = d->func;
        snprintf(i->address, sizeof(i->address), "%04x:%02x:%02x.%x", i->domain, i->bus, i->slot,
                 i->func);
        i->vendor = d->vendor_id;
        i->device = d->device_id;
        i->class_code = d->device_class;
        /* Names from pci.ids itself: udev's hwdb is a copy of it, and
         * libpci's hwdb lookup leaks a udev context per call. */
        pci_lookup_name(acc, i->name, sizeof(i->name),
                        PCI_LOOKUP_VENDOR | PCI_LOOKUP_DEVICE | PCI_LOOKUP_NO_HWDB, d->vendor_id,
                        d->device_id);
        pci_lookup_name(acc, i->class_name, sizeof(i->class_name),
                        PCI_LOOKUP_CLASS | PCI_LOOKUP_NO_HWDB, d->device_class);
    }
    pci_cleanup(acc);
    libpci_escape = NULL;
    return 0;
}

int pci_host_scan(struct pci_host *h, struct vmrun_error *err)
{
    char bus_path[PATH_MAX], devices[PATH_MAX];
    h->devs = NULL;
    h->n = 0;
    if (host_path(bus_path, sizeof(bus_path), HOST_SYS, "/bus/pci") < 0 ||
        host_path(devices, sizeof(devices), HOST_SYS, "/bus/pci/devices") < 0)
        return vmrun_failx(err, ENAMETOOLONG, "sysfs root too long");
    if (!pci_sysfs_exists(devices))
        return vmrun_failx(err, ENOENT, "%s does not exist: this host has no PCI bus in sysfs",
                           devices);
    int r = libpci_scan(bus_path, h, err);
    if (r < 0)
        return r;
    for (size_t k = 0; k < h->n; k++)
        read_sysfs_facts(&h->devs[k]);
    qsort(h->devs, h->n, sizeof(*h->devs), cmp_dev);
    return 0;
}

void pci_host_free(struct pci_host *h)
{
    free(h->devs);
    h->devs = NULL;
    h->n = 0;
}

const struct pci_dev_info *pci_host_find(const struct pci_host *h, const char *address)
{
    for (size_t k = 0; k < h->n; k++)
        if (strcmp(h->devs[k].address, address) == 0)
            return &h->devs[k];
    return NULL;
}

size_t pci_group_members(const struct pci_host *h, int group, const struct pci_dev_info **out,
                         size_t max)
{
    size_t n = 0;
    if (group < 0)
        return 0;
    for (size_t k = 0; k < h->n; k++) {
        if (h->devs[k].iommu_group != group)
            continue;
        if (n < max)
            out[n] = &h->devs[k];
        n++;
    }
    return n;
}
