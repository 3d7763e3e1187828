/* Matching input[] entries to the host's event nodes (input_match.h). */
#include "host/input/input_match.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "base/cleanup.h"
#include "sys/hostfile.h"
#include "sys/hostpath.h"
#include "sys/safepath.h"

/* A hex id file ("046d\n", "0x046d"). */
static bool read_hex(const char *dir, const char *file, unsigned *out)
{
    char path[PATH_MAX], buf[32];
    if (snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path) ||
        hostfile_read(path, buf, sizeof(buf)) < 0)
        return false;
    char *end;
    unsigned long v = strtoul(buf, &end, 16);
    if (end == buf || *end != '\0' || v > 0xffff)
        return false;
    *out = (unsigned)v;
    return true;
}

static void read_text(const char *dir, const char *file, char *buf, size_t len)
{
    char path[PATH_MAX];
    buf[0] = '\0';
    if (snprintf(path, sizeof(path), "%s/%s", dir, file) < (int)sizeof(path) &&
        hostfile_read(path, buf, len) < 0)
        buf[0] = '\0';
}

/* The physical device above an input device: the nearest directory that
 * is a USB device (it has idVendor), else the input device itself. */
static void find_physdev(const char *sysroot, const char *input_dir, struct input_node *nd)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", input_dir);
    size_t root_len = strlen(sysroot);
    for (char *slash = strrchr(dir, '/'); slash != NULL && (size_t)(slash - dir) > root_len;
         slash = strrchr(dir, '/')) {
        *slash = '\0';
        unsigned v, p;
        if (read_hex(dir, "idVendor", &v) && read_hex(dir, "idProduct", &p)) {
            snprintf(nd->physdev, sizeof(nd->physdev), "%s", dir);
            nd->vendor = v;
            nd->product = p;
            read_text(dir, "serial", nd->serial, sizeof(nd->serial));
            return;
        }
    }
    snprintf(nd->physdev, sizeof(nd->physdev), "%s", input_dir);
    if (!read_hex(input_dir, "id/vendor", &nd->vendor))
        nd->vendor = 0;
    if (!read_hex(input_dir, "id/product", &nd->product))
        nd->product = 0;
    read_text(input_dir, "uniq", nd->serial, sizeof(nd->serial));
}

int input_nodes_scan(struct input_nodes *out, struct vmrun_error *err)
{
    *out = (struct input_nodes){0};
    char cls[PATH_MAX];
    if (host_path(cls, sizeof(cls), HOST_SYS, "/class/input") < 0)
        return vmrun_failx(err, ENAMETOOLONG, "sysfs path");
    cleanup_closedir DIR *d = opendir(cls);
    if (d == NULL)
        return errno == ENOENT ? 0 : vmrun_fail(err, errno, "open %s", cls);
    char sysroot[PATH_MAX];
    if (realpath(host_root(HOST_SYS), sysroot) == NULL)
        return vmrun_fail(err, errno, "resolve %s", host_root(HOST_SYS));
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "event", 5) != 0 || strlen(e->d_name) >= 32)
            continue;
        char link[PATH_MAX], real[PATH_MAX];
        if (snprintf(link, sizeof(link), "%s/%s", cls, e->d_name) >= (int)sizeof(link) ||
            realpath(link, real) == NULL)
            continue; /* gone meanwhile */
        struct input_node nd = {0};
        snprintf(nd.event, sizeof(nd.event), "%s", e->d_name);
        char num[32];
        unsigned ma, mi;
        read_text(real, "dev", num, sizeof(num));
        if (sscanf(num, "%u:%u", &ma, &mi) != 2)
            continue;
        nd.rdev = makedev(ma, mi);
        if (host_path(nd.node, sizeof(nd.node), HOST_DEV, "/input/%s", e->d_name) < 0)
            continue;
        char *slash = strrchr(real, '/');
        if (slash == NULL)
            continue;
        *slash = '\0'; /* the input device: .../inputN */
        read_text(real, "name", nd.name, sizeof(nd.name));
        read_text(real, "phys", nd.phys, sizeof(nd.phys));
        if (strncmp(nd.phys, "vmrun/", 6) == 0)
            continue; /* a VM's virtual device */
        find_physdev(sysroot, real, &nd);
        struct input_node *grown = realloc(out->items, (out->n + 1) * sizeof(*grown));
        if (grown == NULL) {
            input_nodes_free(out);
            return vmrun_failx(err, ENOMEM, "out of memory");
        }
        out->items = grown;
        out->items[out->n++] = nd;
    }
    return 0;
}

void input_nodes_free(struct input_nodes *l)
{
    free(l->items);
    *l = (struct input_nodes){0};
}

void input_spec_of(const struct vm_input *in, struct input_spec *s)
{
    *s = (struct input_spec){0};
    if (in->evdev != NULL) {
        s->path = in->evdev;
    } else if (!in->by_ids) {
        s->path = in->device;
        s->whole_device = true;
    } else {
        s->vendor = in->vendor;
        s->product = in->product;
        s->serial = in->serial;
    }
}

void input_spec_describe(const struct input_spec *s, char *buf, size_t len)
{
    if (s->path != NULL)
        snprintf(buf, len, "%s", s->path);
    else if (s->serial != NULL)
        snprintf(buf, len, "%04x:%04x:%s", s->vendor, s->product, s->serial);
    else
        snprintf(buf, len, "%04x:%04x", s->vendor, s->product);
}

static void describe_node(const struct input_node *nd, char *buf, size_t len)
{
    snprintf(buf, len, "\"%s\" (%04x:%04x%s%s, %s)", nd->name, nd->vendor, nd->product,
             nd->serial[0] ? ", serial " : "", nd->serial, nd->node);
}

/* The node a path names: resolved as root must, then found by number. */
static int node_of_path(const char *path, const struct input_nodes *l, size_t *at,
                        struct vmrun_error *err)
{
    cleanup_safe_path struct safe_path sp = {.fd = -1};
    struct vmrun_error rerr = {0};
    int r = safe_resolve(path, &sp, &rerr);
    if (r == -ENOENT || r == -ENOTDIR)
        return -ENOENT;
    if (r < 0)
        return vmrun_failx(err, -r, "%s", rerr.msg);
    if (!sp.root_controlled)
        return vmrun_failx(err, EPERM,
                           "%s: %s; vmrun opens input devices only on paths root controls (name "
                           "the device under /dev/input)",
                           path, sp.why);
    if (!S_ISCHR(sp.st.st_mode))
        return vmrun_failx(err, ENODEV, "%s is not an evdev input device (an event node)", path);
    for (size_t i = 0; i < l->n; i++)
        if (l->items[i].rdev == sp.st.st_rdev) {
            *at = i;
            return 0;
        }
    return vmrun_failx(err, ENODEV, "%s (%u:%u) is not an evdev input device (an event node)",
                       path, major(sp.st.st_rdev), minor(sp.st.st_rdev));
}

int input_match(const struct input_spec *spec, const struct input_nodes *l, size_t *idx, size_t max,
                size_t *n, struct vmrun_error *err)
{
    *n = 0;
    const char *physdev = NULL;
    if (spec->path != NULL) {
        size_t at = 0; /* set whenever node_of_path returns 0 */
        int r = node_of_path(spec->path, l, &at, err);
        if (r == -ENOENT)
            return 0;
        if (r < 0)
            return r;
        if (!spec->whole_device) {
            if (max > 0)
                idx[(*n)++] = at;
            return 0;
        }
        physdev = l->items[at].physdev;
    }
    for (size_t i = 0; i < l->n; i++) {
        const struct input_node *nd = &l->items[i];
        if (spec->physdev != NULL && strcmp(nd->physdev, spec->physdev) != 0)
            continue;
        if (physdev != NULL) {
            if (strcmp(nd->physdev, physdev) != 0)
                continue;
        } else if (nd->vendor != spec->vendor || nd->product != spec->product ||
                   (spec->serial != NULL && strcmp(nd->serial, spec->serial) != 0)) {
            continue;
        }
        /* One physical device: a second one with the same ids is a
         * question vmrun cannot answer for the user. */
        if (*n > 0 && strcmp(l->items[idx[0]].physdev, nd->physdev) != 0) {
            char a[512], b[512], what[256];
            describe_node(&l->items[idx[0]], a, sizeof(a));
            describe_node(nd, b, sizeof(b));
            input_spec_describe(spec, what, sizeof(what));
            return vmrun_failx(err, EEXIST,
                               "%s matches two different devices: %s and %s; name one by its "
                               "serial number (vendor:product:serial) or by a path under "
                               "/dev/input/by-id or /dev/input/by-path",
                               what, a, b);
        }
        if (*n < max)
            idx[(*n)++] = i;
    }
    return 0;
}
