/* libvmrun_sysfs_sim.so: an LD_PRELOAD shim that gives a simulated sysfs
 * tree (tests/pci/make-fake-host.sh) the kernel's behaviour when it is
 * written, in the spirit of libvirt's virpcimock. Only writes are
 * intercepted (reads go to the plain files): opening one of the files below
 * for writing under $VMRUN_SYSFS_ROOT, then write():
 *
 *   bus/pci/devices/BDF/driver_override   stores the value; an empty line
 *                                         clears it to "(null)"
 *   bus/pci/drivers/X/unbind              BDF: removes devices/BDF/driver and
 *                                         drivers/X/BDF (ENODEV if not on X);
 *                                         blocks forever when the device has
 *                                         a .sim_block_unbind file
 *   bus/pci/drivers/X/bind                BDF: binds when X matches (EBUSY if
 *                                         bound, ENODEV if X does not match)
 *   bus/pci/drivers_probe                 BDF: binds to driver_override if set,
 *                                         else to the first driver in the
 *                                         device's .sim_drivers that exists
 *
 *   bus/pci/devices/BDF/reset_method      "default": the device's .sim_reset_methods;
 *                                         "" none; else every method must be in
 *                                         .sim_reset_methods (EINVAL otherwise)
 *   bus/pci/devices/BDF/d3cold_allowed    stores the value (the file truncated)
 *   class/vtconsole/vtconN/bind           stores the value
 *   bus/pci/devices/BDF/rom               "0\n" (two bytes) disables reading, anything
 *                                         else enables it (.sim_rom_enabled); reading
 *                                         rom while disabled fails with EINVAL
 *   bus/pci/devices/BDF/remove            moves the device under .sim_removed/ and
 *                                         drops its links
 *   bus/pci/rescan                        brings back each removed device whose config
 *                                         does not read 0xffff (a .sim_revive_on_rescan
 *                                         file first restores its saved config), with
 *                                         driver_override cleared, and probes it
 *   bus/platform/drivers/X/bind, unbind   a platform device (firmware framebuffers);
 *                                         the nodes its .sim_nodes lists ("SUBDIR
 *                                         NODE" a line: "drm/card0 dri/card0", a
 *                                         directory under the device and a node under
 *                                         $VMRUN_DEV_ROOT) exist only while it is bound,
 *                                         as simpledrm's DRM card does
 *   devices/.../scaling_governor          cpufreq: the name (up to white space) must be
 *                                         one of the directory's
 *                                         scaling_available_governors (EINVAL
 *                                         otherwise); reached through
 *                                         cpuN/cpufreq, a link to a policy
 *                                         directory several CPUs may share
 *
 * X matches a device when driver_override names X, or, without an override,
 * when .sim_drivers lists X (vfio-pci matches nothing by itself, as in the
 * kernel). Binding to vfio-pci creates $VMRUN_DEV_ROOT/vfio/GROUP; the last
 * group member leaving vfio-pci removes it. Binding vfio-pci to BDF removes
 * each platform device whose .sim_gone_with_vfio names BDF, with its nodes,
 * as Linux 6.0 and later drop the firmware's framebuffer on a GPU that
 * vfio-pci takes.
 *
 * Safety: the shim does nothing unless VMRUN_SYSFS_ROOT is set and resolves
 * to something other than the real /sys. */
#include <dirent.h>
#include <dlfcn.h>
#include <ftw.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum kind {
    K_NONE,
    K_OVERRIDE,
    K_UNBIND,
    K_BIND,
    K_PROBE,
    K_RESET,
    K_STORE,
    K_ROM,
    K_ROM_READ,
    K_REMOVE,
    K_RESCAN,
    K_PLAT_BIND,
    K_PLAT_UNBIND,
    K_GOVERNOR,
};

#define MAX_FDS 1024
static struct {
    enum kind kind;
    char arg[PATH_MAX]; /* BDF, driver name, device directory or file, by kind */
} tracked[MAX_FDS];

static int (*real_open)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real_pread)(int, void *, size_t, off_t);
static int (*real_close)(int);

static void init_real(void)
{
    if (real_write != NULL)
        return;
    real_open = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open");
    real_openat = (int (*)(int, const char *, int, ...))dlsym(RTLD_NEXT, "openat");
    real_close = (int (*)(int))dlsym(RTLD_NEXT, "close");
    real_write = (ssize_t(*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
    real_read = (ssize_t(*)(int, void *, size_t))dlsym(RTLD_NEXT, "read");
    real_pread = (ssize_t(*)(int, void *, size_t, off_t))dlsym(RTLD_NEXT, "pread");
}

/* The resolved simulated roots, or NULL when the shim must stay out. */
static const char *sys_root(void)
{
    static char root[PATH_MAX];
    const char *env = getenv("VMRUN_SYSFS_ROOT");
    if (env == NULL || env[0] != '/' || realpath(env, root) == NULL)
        return NULL;
    if (strcmp(root, "/sys") == 0 || strncmp(root, "/sys/", 5) == 0 || strcmp(root, "/") == 0)
        return NULL;
    return root;
}

static int sim_path(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int sim_path(char *buf, const char *fmt, ...)
{
    const char *root = sys_root();
    if (root == NULL)
        return -1;
    int n = snprintf(buf, PATH_MAX, "%s", root);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(buf + n, (size_t)(PATH_MAX - n), fmt, ap);
    va_end(ap);
    return m < 0 || n + m >= PATH_MAX ? -1 : 0;
}

static void read_file(const char *path, char *buf, size_t len)
{
    buf[0] = '\0';
    int fd = real_open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    init_real();
    ssize_t n = real_read(fd, buf, len - 1);
    real_close(fd);
    if (n < 0)
        n = 0;
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        buf[--n] = '\0';
}

static void write_file(const char *path, const char *value)
{
    int fd = real_open(path, O_WRONLY | O_TRUNC | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    if (real_write(fd, value, strlen(value)) < 0) {
        /* nothing sensible to do in a test shim */
    }
    real_close(fd);
}

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static void current_driver(const char *bdf, char *buf, size_t len)
{
    char path[PATH_MAX], target[PATH_MAX];
    buf[0] = '\0';
    if (sim_path(path, "/bus/pci/devices/%s/driver", bdf) < 0)
        return;
    ssize_t n = readlink(path, target, sizeof(target) - 1);
    if (n < 0)
        return;
    target[n] = '\0';
    const char *s = strrchr(target, '/');
    s = s ? s + 1 : target;
    /* A driver's name is short; a longer one is cut (and never matches). */
    size_t l = strnlen(s, len - 1);
    memcpy(buf, s, l);
    buf[l] = '\0';
}

static int group_of(const char *bdf)
{
    char path[PATH_MAX], target[PATH_MAX];
    if (sim_path(path, "/bus/pci/devices/%s/iommu_group", bdf) < 0)
        return -1;
    ssize_t n = readlink(path, target, sizeof(target) - 1);
    if (n < 0)
        return -1;
    target[n] = '\0';
    const char *s = strrchr(target, '/');
    return atoi(s ? s + 1 : target);
}

static int vfio_node(int group, char *buf)
{
    const char *dev = getenv("VMRUN_DEV_ROOT");
    if (dev == NULL || dev[0] != '/' || strcmp(dev, "/dev") == 0)
        return -1;
    snprintf(buf, PATH_MAX, "%s/vfio/%d", dev, group);
    return 0;
}

/* The device directory relative to the root: "devices/pci0000:00/.../BDF". */
static int device_rel(const char *bdf, char *rel, size_t len)
{
    char path[PATH_MAX], real[PATH_MAX];
    const char *root = sys_root();
    if (root == NULL || sim_path(path, "/bus/pci/devices/%s", bdf) < 0 ||
        realpath(path, real) == NULL)
        return -ENODEV;
    size_t n = strlen(root);
    if (strncmp(real, root, n) != 0 || real[n] != '/')
        return -ENODEV;
    snprintf(rel, len, "%s", real + n + 1);
    return 0;
}

static void plat_gone_with_vfio(const char *bdf);

static int do_bind(const char *bdf, const char *drv)
{
    char path[PATH_MAX], link[2 * PATH_MAX], rel[PATH_MAX], cur[256], buf[1024];
    if (device_rel(bdf, rel, sizeof(rel)) < 0)
        return -ENODEV;
    if (sim_path(path, "/bus/pci/drivers/%s", drv) < 0 || !exists(path))
        return -ENODEV;
    current_driver(bdf, cur, sizeof(cur));
    if (cur[0] != '\0')
        return -EBUSY;
    sim_path(path, "/bus/pci/devices/%s/driver_override", bdf);
    read_file(path, buf, sizeof(buf));
    bool match = false;
    if (buf[0] != '\0' && strcmp(buf, "(null)") != 0) {
        match = strcmp(buf, drv) == 0;
    } else {
        sim_path(path, "/bus/pci/devices/%s/.sim_drivers", bdf);
        read_file(path, buf, sizeof(buf));
        for (char *save, *t = strtok_r(buf, " \n", &save); t; t = strtok_r(NULL, " \n", &save))
            match |= strcmp(t, drv) == 0;
    }
    if (!match)
        return -ENODEV;
    int group = group_of(bdf);
    if (strcmp(drv, "vfio-pci") == 0 && group < 0)
        return -EINVAL; /* vfio-pci's probe needs an IOMMU group */

    /* devices/.../BDF/driver -> ../(one per component)bus/pci/drivers/X */
    char up[PATH_MAX] = "";
    for (const char *c = rel; *c; c++)
        if (*c == '/')
            strcat(up, "../");
    strcat(up, "../");
    snprintf(link, sizeof(link), "%sbus/pci/drivers/%s", up, drv);
    sim_path(path, "/%s/driver", rel);
    if (symlink(link, path) < 0)
        return -errno;
    snprintf(link, sizeof(link), "../../../../%s", rel);
    sim_path(path, "/bus/pci/drivers/%s/%s", drv, bdf);
    if (symlink(link, path) < 0)
        return -errno;
    if (strcmp(drv, "vfio-pci") == 0 && vfio_node(group, path) == 0)
        write_file(path, "");
    if (strcmp(drv, "vfio-pci") == 0)
        plat_gone_with_vfio(bdf);
    return 0;
}

static bool group_has_vfio(int group)
{
    char path[PATH_MAX], cur[256];
    if (sim_path(path, "/kernel/iommu_groups/%d/devices", group) < 0)
        return false;
    DIR *d = opendir(path);
    if (d == NULL)
        return false;
    bool any = false;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        current_driver(e->d_name, cur, sizeof(cur));
        any |= strcmp(cur, "vfio-pci") == 0;
    }
    closedir(d);
    return any;
}

static int do_unbind(const char *bdf, const char *drv)
{
    char path[PATH_MAX], cur[256];
    current_driver(bdf, cur, sizeof(cur));
    if (strcmp(cur, drv) != 0)
        return -ENODEV;
    sim_path(path, "/bus/pci/devices/%s/.sim_block_unbind", bdf);
    if (exists(path))
        for (;;)
            pause(); /* a holder that never lets go */
    sim_path(path, "/bus/pci/devices/%s/driver", bdf);
    unlink(path);
    sim_path(path, "/bus/pci/drivers/%s/%s", drv, bdf);
    unlink(path);
    int group = group_of(bdf);
    if (strcmp(drv, "vfio-pci") == 0 && group >= 0 && !group_has_vfio(group) &&
        vfio_node(group, path) == 0)
        unlink(path);
    return 0;
}

static int do_probe(const char *bdf)
{
    char path[PATH_MAX], cur[256], buf[1024];
    char rel[PATH_MAX];
    if (device_rel(bdf, rel, sizeof(rel)) < 0)
        return -ENODEV;
    current_driver(bdf, cur, sizeof(cur));
    if (cur[0] != '\0')
        return 0;
    sim_path(path, "/bus/pci/devices/%s/driver_override", bdf);
    read_file(path, buf, sizeof(buf));
    if (buf[0] != '\0' && strcmp(buf, "(null)") != 0) {
        do_bind(bdf, buf);
        return 0;
    }
    sim_path(path, "/bus/pci/devices/%s/.sim_drivers", bdf);
    read_file(path, buf, sizeof(buf));
    for (char *save, *t = strtok_r(buf, " \n", &save); t; t = strtok_r(NULL, " \n", &save))
        if (do_bind(bdf, t) == 0)
            break;
    return 0; /* like the kernel: no matching driver is not an error */
}

static int do_override(const char *bdf, const char *value)
{
    char path[PATH_MAX], content[300];
    if (sim_path(path, "/bus/pci/devices/%s/driver_override", bdf) < 0)
        return -ENODEV;
    snprintf(content, sizeof(content), "%s\n", value[0] ? value : "(null)");
    write_file(path, content);
    return 0;
}

static void track(int fd, const char *path, int flags)
{
    if (fd < 0 || fd >= MAX_FDS)
        return;
    tracked[fd].kind = K_NONE;
    const char *root = sys_root();
    char real[PATH_MAX];
    if (root == NULL || realpath(path, real) == NULL)
        return;
    size_t n = strlen(root);
    if (strncmp(real, root, n) != 0 || real[n] != '/')
        return;
    const char *rel = real + n;
    char drv[256];
    const char *base = strrchr(rel, '/') + 1;
    bool in_devices = strncmp(rel, "/devices/", 9) == 0;
    if ((flags & O_ACCMODE) == O_RDONLY) {
        if (in_devices && strcmp(base, "rom") == 0) {
            tracked[fd].kind = K_ROM_READ;
            snprintf(tracked[fd].arg, sizeof(tracked[fd].arg), "%.*s", (int)(base - 1 - real),
                     real);
        }
        return;
    }
    if (in_devices && (strcmp(base, "reset_method") == 0 || strcmp(base, "rom") == 0 ||
                       strcmp(base, "d3cold_allowed") == 0 || strcmp(base, "remove") == 0)) {
        /* The device's directory, absolute. */
        snprintf(tracked[fd].arg, sizeof(tracked[fd].arg), "%.*s", (int)(base - 1 - real), real);
        tracked[fd].kind = base[0] == 'r' ? (base[1] == 'o'   ? K_ROM
                                             : base[2] == 's' ? K_RESET
                                                              : K_REMOVE)
                                          : K_STORE;
        if (tracked[fd].kind == K_STORE)
            snprintf(tracked[fd].arg, sizeof(tracked[fd].arg), "%s", real);
        return;
    }
    if (in_devices && strcmp(base, "scaling_governor") == 0) {
        tracked[fd].kind = K_GOVERNOR;
        snprintf(tracked[fd].arg, sizeof(tracked[fd].arg), "%s", real);
        return;
    }
    if (strstr(rel, "/vtconsole/") != NULL && strcmp(base, "bind") == 0) {
        tracked[fd].kind = K_STORE;
        snprintf(tracked[fd].arg, sizeof(tracked[fd].arg), "%s", real);
        return;
    }
    if (strcmp(rel, "/bus/pci/rescan") == 0) {
        tracked[fd].kind = K_RESCAN;
        return;
    }
    if (sscanf(rel, "/bus/platform/drivers/%255[^/]/", drv) == 1 &&
        (strcmp(base, "bind") == 0 || strcmp(base, "unbind") == 0)) {
        tracked[fd].kind = strcmp(base, "bind") == 0 ? K_PLAT_BIND : K_PLAT_UNBIND;
        snprintf(tracked[fd].arg, sizeof(tracked[fd].arg), "%s", drv);
        return;
    }
    if (strcmp(rel, "/bus/pci/drivers_probe") == 0) {
        tracked[fd].kind = K_PROBE;
    } else if (sscanf(rel, "/bus/pci/drivers/%255[^/]/", drv) == 1 &&
               (strcmp(base, "bind") == 0 || strcmp(base, "unbind") == 0) &&
               strchr(rel + strlen("/bus/pci/drivers/") + strlen(drv) + 1, '/') == NULL) {
        tracked[fd].kind = strcmp(base, "bind") == 0 ? K_BIND : K_UNBIND;
        snprintf(tracked[fd].arg, sizeof(tracked[fd].arg), "%s", drv);
    } else if (strncmp(rel, "/devices/", 9) == 0 && strcmp(base, "driver_override") == 0) {
        /* .../BDF/driver_override: the BDF is the directory's name */
        const char *end = base - 1, *start = end;
        while (start > rel && start[-1] != '/')
            start--;
        snprintf(tracked[fd].arg, sizeof(tracked[fd].arg), "%.*s", (int)(end - start), start);
        tracked[fd].kind = K_OVERRIDE;
    }
}

int open(const char *path, int flags, ...)
{
    init_real();
    mode_t mode = 0;
    if (flags & (O_CREAT | O_TMPFILE)) {
        va_list ap;
        va_start(ap, flags);
        mode = va_arg(ap, mode_t);
        va_end(ap);
    }
    int fd = real_open(path, flags, mode);
    track(fd, path, flags);
    return fd;
}

int open64(const char *path, int flags, ...) __attribute__((alias("open")));

int __open_2(const char *path, int flags)
{
    return open(path, flags);
}

int openat(int dirfd, const char *path, int flags, ...)
{
    init_real();
    mode_t mode = 0;
    if (flags & (O_CREAT | O_TMPFILE)) {
        va_list ap;
        va_start(ap, flags);
        mode = va_arg(ap, mode_t);
        va_end(ap);
    }
    int fd = real_openat(dirfd, path, flags, mode);
    if (path[0] == '/')
        track(fd, path, flags);
    else if (fd >= 0 && fd < MAX_FDS)
        tracked[fd].kind = K_NONE;
    return fd;
}

int openat64(int dirfd, const char *path, int flags, ...) __attribute__((alias("openat")));

/* The value as the kernel would keep it: one line. */
static int do_store(const char *path, const char *value)
{
    char content[300];
    snprintf(content, sizeof(content), "%s\n", value);
    write_file(path, content);
    return 0;
}

/* As cpufreq's store_scaling_governor: the first word, one of the
 * policy's available governors. */
static int do_governor(const char *path, const char *value)
{
    char word[64], avail[1024], file[PATH_MAX + 32];
    if (sscanf(value, "%63s", word) != 1)
        return -EINVAL;
    snprintf(file, sizeof(file), "%.*s/scaling_available_governors",
             (int)(strrchr(path, '/') - path), path);
    read_file(file, avail, sizeof(avail));
    size_t wl = strlen(word);
    for (const char *p = avail; (p = strstr(p, word)) != NULL; p += wl)
        if ((p == avail || p[-1] == ' ') && (p[wl] == '\0' || p[wl] == ' '))
            return do_store(path, word);
    return -EINVAL;
}

static int do_reset(const char *devdir, const char *value)
{
    char path[PATH_MAX + 32], have[256], want[256], content[300];
    snprintf(path, sizeof(path), "%s/.sim_reset_methods", devdir);
    read_file(path, have, sizeof(have));
    if (strcmp(value, "default") == 0) {
        snprintf(want, sizeof(want), "%s", have);
    } else {
        snprintf(want, sizeof(want), "%s", value);
        char copy[256];
        snprintf(copy, sizeof(copy), "%s", value);
        for (char *save, *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
            char padded[300], list[300];
            snprintf(padded, sizeof(padded), " %s ", t);
            snprintf(list, sizeof(list), " %s ", have);
            if (strstr(list, padded) == NULL)
                return -EINVAL;
        }
    }
    snprintf(path, sizeof(path), "%s/reset_method", devdir);
    snprintf(content, sizeof(content), "%s\n", want);
    write_file(path, content);
    return 0;
}

static int do_rom(const char *devdir, bool off)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/.sim_rom_enabled", devdir);
    write_file(path, off ? "0\n" : "1\n");
    return 0;
}

static bool rom_enabled(const char *devdir)
{
    char path[PATH_MAX + 32], v[16];
    snprintf(path, sizeof(path), "%s/.sim_rom_enabled", devdir);
    read_file(path, v, sizeof(v));
    return strcmp(v, "1") == 0;
}

/* The device leaves the bus: its directory moves under .sim_removed/ (with
 * the path it came from), its links go. */
static int do_remove(const char *devdir)
{
    const char *root = sys_root();
    const char *bdf = strrchr(devdir, '/') + 1;
    char path[PATH_MAX + 64], cur[256], dest[PATH_MAX + 64];
    if (root == NULL)
        return -ENODEV;
    current_driver(bdf, cur, sizeof(cur));
    if (cur[0] != '\0')
        do_unbind(bdf, cur);
    snprintf(path, sizeof(path), "%s/.sim_removed", root);
    mkdir(path, 0755);
    snprintf(dest, sizeof(dest), "%s/.sim_removed/%s", root, bdf);
    if (rename(devdir, dest) < 0)
        return -errno;
    snprintf(path, sizeof(path), "%s/.sim_removed/%s.from", root, bdf);
    write_file(path, devdir);
    sim_path(path, "/bus/pci/devices/%s", bdf);
    unlink(path);
    return 0;
}

static int do_rescan(void)
{
    const char *root = sys_root();
    char dir[PATH_MAX + 32];
    if (root == NULL)
        return -ENODEV;
    snprintf(dir, sizeof(dir), "%s/.sim_removed", root);
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (e->d_name[0] == '.' || n < 6 || strcmp(e->d_name + n - 5, ".from") == 0)
            continue;
        char path[PATH_MAX + 300], from[PATH_MAX], good[PATH_MAX + 400];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        snprintf(good, sizeof(good), "%s/.sim_revive_on_rescan", path);
        if (exists(good)) {
            /* The device answers again: the config it had. */
            char cfg[PATH_MAX + 400], saved[PATH_MAX + 400], cmd[3 * PATH_MAX];
            snprintf(cfg, sizeof(cfg), "%s/config", path);
            snprintf(saved, sizeof(saved), "%s/.sim_config_good", path);
            snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", saved, cfg);
            if (system(cmd) != 0)
                continue;
        }
        unsigned char id[2] = {0xff, 0xff};
        char cfg[PATH_MAX + 400];
        snprintf(cfg, sizeof(cfg), "%s/config", path);
        int fd = real_open(cfg, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            if (real_read(fd, id, 2) != 2)
                id[0] = id[1] = 0xff;
            real_close(fd);
        }
        if (id[0] == 0xff && id[1] == 0xff)
            continue; /* it does not answer: the kernel does not see it */
        snprintf(good, sizeof(good), "%s/%s.from", dir, e->d_name);
        read_file(good, from, sizeof(from));
        if (rename(path, from) < 0)
            continue;
        unlink(good);
        char link[PATH_MAX + 300];
        sim_path(link, "/bus/pci/devices/%s", e->d_name);
        char rel[PATH_MAX + 8];
        snprintf(rel, sizeof(rel), "../../..%s", from + strlen(root));
        if (symlink(rel, link) < 0)
            continue;
        do_override(e->d_name, "");
        do_probe(e->d_name);
    }
    closedir(d);
    return 0;
}

static int plat_dev(const char *dev, char *buf)
{
    return sim_path(buf, "/bus/platform/devices/%s", dev);
}

/* The nodes a bound platform device has (its .sim_nodes): made or removed. */
static void plat_nodes(const char *real, bool make)
{
    char path[PATH_MAX + 32], buf[1024];
    const char *devroot = getenv("VMRUN_DEV_ROOT");
    if (devroot == NULL || devroot[0] != '/' || strcmp(devroot, "/dev") == 0)
        return;
    snprintf(path, sizeof(path), "%s/.sim_nodes", real);
    read_file(path, buf, sizeof(buf));
    for (char *save, *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char sub[256], node[256], dir[PATH_MAX + 300];
        if (sscanf(line, "%255s %255s", sub, node) != 2)
            continue;
        snprintf(dir, sizeof(dir), "%s/%s", real, sub);
        char *slash = strrchr(dir, '/');
        if (make) {
            *slash = '\0';
            mkdir(dir, 0755);
            *slash = '/';
            mkdir(dir, 0755);
        } else {
            rmdir(dir);
            *slash = '\0';
            rmdir(dir); /* when it was the last one */
        }
        snprintf(path, sizeof(path), "%s/%s", devroot, node);
        if (make)
            write_file(path, "");
        else
            unlink(path);
    }
}

static int do_plat_bind(const char *dev, const char *drv)
{
    char path[PATH_MAX], link[PATH_MAX + 16], real[PATH_MAX];
    if (plat_dev(dev, path) < 0 || realpath(path, real) == NULL)
        return -ENODEV;
    snprintf(link, sizeof(link), "%s/driver", real);
    if (exists(link))
        return -EBUSY;
    char target[PATH_MAX + 64];
    const char *root = sys_root();
    /* .../devices/platform/DEV/driver -> ../../../bus/platform/drivers/X */
    snprintf(target, sizeof(target), "../../../bus/platform/drivers/%s", drv);
    if (root == NULL || symlink(target, link) < 0)
        return -errno;
    sim_path(path, "/bus/platform/drivers/%s/%s", drv, dev);
    snprintf(target, sizeof(target), "../../../../devices/platform/%s", dev);
    if (symlink(target, path) < 0)
        return -errno;
    plat_nodes(real, true);
    return 0;
}

static int do_plat_unbind(const char *dev, const char *drv)
{
    char path[PATH_MAX], link[PATH_MAX + 16], real[PATH_MAX];
    if (plat_dev(dev, path) < 0 || realpath(path, real) == NULL)
        return -ENODEV;
    snprintf(link, sizeof(link), "%s/driver", real);
    char target[PATH_MAX];
    ssize_t n = readlink(link, target, sizeof(target) - 1);
    if (n < 0)
        return -ENODEV;
    target[n] = '\0';
    const char *s = strrchr(target, '/');
    if (strcmp(s ? s + 1 : target, drv) != 0)
        return -ENODEV;
    unlink(link);
    sim_path(path, "/bus/platform/drivers/%s/%s", drv, dev);
    unlink(path);
    plat_nodes(real, false);
    return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static void plat_gone_with_vfio(const char *bdf)
{
    char path[PATH_MAX], real[PATH_MAX], knob[PATH_MAX + 32], who[64], target[PATH_MAX];
    if (sim_path(path, "/bus/platform/devices") < 0)
        return;
    DIR *d = opendir(path);
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || plat_dev(e->d_name, path) < 0 || realpath(path, real) == NULL)
            continue;
        snprintf(knob, sizeof(knob), "%s/.sim_gone_with_vfio", real);
        read_file(knob, who, sizeof(who));
        if (strcmp(who, bdf) != 0)
            continue;
        snprintf(knob, sizeof(knob), "%s/driver", real);
        ssize_t n = readlink(knob, target, sizeof(target) - 1);
        if (n > 0) {
            target[n] = '\0';
            const char *drv = strrchr(target, '/');
            do_plat_unbind(e->d_name, drv ? drv + 1 : target);
        }
        unlink(path);
        nftw(real, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    }
    if (d != NULL)
        closedir(d);
}

ssize_t read(int fd, void *buf, size_t count)
{
    init_real();
    if (fd >= 0 && fd < MAX_FDS && tracked[fd].kind == K_ROM_READ && !rom_enabled(tracked[fd].arg)) {
        errno = EINVAL;
        return -1;
    }
    return real_read(fd, buf, count);
}

ssize_t pread(int fd, void *buf, size_t count, off_t offset)
{
    init_real();
    if (fd >= 0 && fd < MAX_FDS && tracked[fd].kind == K_ROM_READ && !rom_enabled(tracked[fd].arg)) {
        errno = EINVAL;
        return -1;
    }
    return real_pread(fd, buf, count, offset);
}

ssize_t pread64(int fd, void *buf, size_t count, off_t offset) __attribute__((alias("pread")));

ssize_t write(int fd, const void *buf, size_t count)
{
    init_real();
    if (fd < 0 || fd >= MAX_FDS || tracked[fd].kind == K_NONE)
        return real_write(fd, buf, count);
    char value[256];
    size_t n = count < sizeof(value) - 1 ? count : sizeof(value) - 1;
    memcpy(value, buf, n);
    value[n] = '\0';
    value[strcspn(value, "\n")] = '\0';
    int r = 0;
    switch (tracked[fd].kind) {
    case K_OVERRIDE:
        r = do_override(tracked[fd].arg, value);
        break;
    case K_UNBIND:
        r = do_unbind(value, tracked[fd].arg);
        break;
    case K_BIND:
        r = do_bind(value, tracked[fd].arg);
        break;
    case K_PROBE:
        r = do_probe(value);
        break;
    case K_RESET:
        r = do_reset(tracked[fd].arg, value);
        break;
    case K_STORE:
        r = do_store(tracked[fd].arg, value);
        break;
    case K_ROM:
        r = do_rom(tracked[fd].arg, count == 2 && ((const char *)buf)[0] == '0');
        break;
    case K_REMOVE:
        r = do_remove(tracked[fd].arg);
        break;
    case K_RESCAN:
        r = do_rescan();
        break;
    case K_PLAT_BIND:
        r = do_plat_bind(value, tracked[fd].arg);
        break;
    case K_PLAT_UNBIND:
        r = do_plat_unbind(value, tracked[fd].arg);
        break;
    case K_GOVERNOR:
        r = do_governor(tracked[fd].arg, value);
        break;
    case K_ROM_READ:
    case K_NONE:
        break;
    }
    if (r < 0) {
        errno = -r;
        return -1;
    }
    return (ssize_t)count;
}

int close(int fd)
{
    init_real();
    if (fd >= 0 && fd < MAX_FDS)
        tracked[fd].kind = K_NONE;
    return real_close(fd);
}
