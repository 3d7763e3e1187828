/* Who uses what sits below a device in sysfs (dev_users.h). */
#include "sys/dev_users.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/text.h"
#include "sys/hostfile.h"
#include "sys/hostpath.h"

bool dev_users_below(const char *path, const char *devdir)
{
    char real[PATH_MAX];
    if (realpath(path, real) == NULL)
        return false;
    size_t n = strlen(devdir);
    return strncmp(real, devdir, n) == 0 && real[n] == '/';
}

struct blockdev {
    char name[64];
    char majmin[32];
};

struct blockset {
    struct blockdev items[256];
    size_t n;
};

static bool blockset_has(const struct blockset *s, const char *name)
{
    for (size_t k = 0; k < s->n; k++)
        if (strcmp(s->items[k].name, name) == 0)
            return true;
    return false;
}

/* Add a block device and, recursively, what is stacked on it (device mapper,
 * md: its holders/ directory), since a mount of dm-0 on a partition of the
 * disk uses the disk just the same. */
static void blockset_add(struct blockset *s, const char *name, int depth)
{
    if (depth > 8 || blockset_has(s, name) || s->n == ARRAY_SIZE(s->items) ||
        strlen(name) >= sizeof(s->items[0].name))
        return;
    char path[PATH_MAX];
    struct blockdev *b = &s->items[s->n++];
    snprintf(b->name, sizeof(b->name), "%s", name);
    if (host_path(path, sizeof(path), HOST_SYS, "/class/block/%s/dev", name) == 0 &&
        hostfile_read(path, b->majmin, sizeof(b->majmin)) < 0)
        b->majmin[0] = '\0';
    if (host_path(path, sizeof(path), HOST_SYS, "/class/block/%s/holders", name) < 0)
        return;
    cleanup_closedir DIR *d = opendir(path);
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            blockset_add(s, e->d_name, depth + 1);
}

/* The block device name behind a /dev path ("/dev/mapper/root" -> "dm-0"),
 * resolved under the /dev root; "" when it is not a device path. */
static void dev_path_to_block(const char *devpath, char *name, size_t len)
{
    char path[PATH_MAX], real[PATH_MAX];
    name[0] = '\0';
    if (strncmp(devpath, "/dev/", 5) != 0)
        return;
    if (host_path(path, sizeof(path), HOST_DEV, "/%s", devpath + 5) < 0)
        return;
    const char *use = realpath(path, real) != NULL ? real : path;
    const char *slash = strrchr(use, '/');
    snprintf(name, len, "%s", slash ? slash + 1 : use);
}

int dev_users_storage(const char *devdir, char *found, size_t len, struct vmrun_error *err)
{
    found[0] = '\0';
    char path[PATH_MAX];
    if (host_path(path, sizeof(path), HOST_SYS, "/class/block") < 0)
        return vmrun_failx(err, ENAMETOOLONG, "sysfs root too long");
    struct blockset *set = calloc(1, sizeof(*set));
    if (set == NULL)
        return vmrun_fail(err, ENOMEM, "storage check");
    {
        cleanup_closedir DIR *d = opendir(path);
        struct dirent *e;
        while (d != NULL && (e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            char p[PATH_MAX];
            if (host_path(p, sizeof(p), HOST_SYS, "/class/block/%s", e->d_name) == 0 &&
                dev_users_below(p, devdir))
                blockset_add(set, e->d_name, 0);
        }
    }
    if (set->n == 0) {
        free(set);
        return 0;
    }

    /* Mounts: by major:minor, and by source device for file systems with
     * anonymous device numbers (btrfs). */
    if (host_path(path, sizeof(path), HOST_PROC, "/self/mountinfo") == 0) {
        cleanup_fclose FILE *f = fopen(path, "re");
        char line[4096];
        while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
            char majmin[32], mnt[1024], source[1024] = "";
            if (sscanf(line, "%*s %*s %31s %*s %1023s", majmin, mnt) != 2)
                continue;
            const char *sep = strstr(line, " - ");
            if (sep != NULL)
                sscanf(sep + 3, "%*s %1023s", source);
            char srcname[256];
            dev_path_to_block(source, srcname, sizeof(srcname));
            for (size_t k = 0; k < set->n; k++) {
                if (strcmp(set->items[k].majmin, majmin) == 0 ||
                    (srcname[0] && strcmp(set->items[k].name, srcname) == 0)) {
                    text_append(found, len, "%s%s is mounted on %s", found[0] ? "; " : "",
                                set->items[k].name, mnt);
                    break;
                }
            }
        }
    }
    if (host_path(path, sizeof(path), HOST_PROC, "/swaps") == 0) {
        cleanup_fclose FILE *f = fopen(path, "re");
        char line[4096];
        while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
            char file[1024], name[256];
            if (sscanf(line, "%1023s", file) != 1 || strcmp(file, "Filename") == 0)
                continue;
            dev_path_to_block(file, name, sizeof(name));
            if (name[0] && blockset_has(set, name))
                text_append(found, len, "%s%s is active swap", found[0] ? "; " : "", name);
        }
    }
    free(set);
    return 0;
}

int dev_users_network(const char *devdir, char *up, size_t len, struct vmrun_error *err)
{
    up[0] = '\0';
    char path[PATH_MAX];
    if (host_path(path, sizeof(path), HOST_SYS, "/class/net") < 0)
        return vmrun_failx(err, ENAMETOOLONG, "sysfs root too long");
    cleanup_closedir DIR *d = opendir(path);
    if (d == NULL)
        return 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char p[PATH_MAX], state[32];
        if (host_path(p, sizeof(p), HOST_SYS, "/class/net/%s", e->d_name) < 0 ||
            !dev_users_below(p, devdir))
            continue;
        /* operstate "up" is what this check goes by: it is what sysfs
         * shows on any host, real or simulated; a link that is up is in
         * use whether or not it has addresses (bridges, bonds). */
        if (host_path(p, sizeof(p), HOST_SYS, "/class/net/%s/operstate", e->d_name) < 0 ||
            hostfile_read(p, state, sizeof(state)) < 0 || strcmp(state, "up") != 0)
            continue;
        text_append(up, len, "%s%s", up[0] ? ", " : "", e->d_name);
    }
    return 0;
}
