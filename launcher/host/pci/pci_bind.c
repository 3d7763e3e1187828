#include "host/pci/pci_bind.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/say.h"
#include "host/pci/pci_health.h"
#include "host/pci/pci_rom.h"
#include "host/pci/pci_sysfs.h"
#include "host/pci/pci_users.h"
#include "journal/opargs.h"
#include "sys/child_env.h"
#include "sys/hostpath.h"
#include "sys/modprobe.h"

#define VFIO_DRIVER "vfio-pci"
#define PCI_TAKE_MAX 256
#define VFIO_NODE_WAIT_MS 2000 /* udev creates /dev/vfio/N shortly after the bind */

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Append to an error message being built up (several devices, several
 * groups), keeping code from the first. */
static void err_append(struct vmrun_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void err_append(struct vmrun_error *err, const char *fmt, ...)
{
    size_t used = strlen(err->msg);
    if (used >= sizeof(err->msg) - 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg + used, sizeof(err->msg) - used, fmt, ap);
    va_end(ap);
}

/* ---- planning (read-only) ---- */

static bool in_list(const struct pci_dev_info *const *list, size_t n, const struct pci_dev_info *d)
{
    for (size_t k = 0; k < n; k++)
        if (list[k] == d)
            return true;
    return false;
}

static int cmp_dev_ptr(const void *a, const void *b)
{
    const struct pci_dev_info *x = *(const struct pci_dev_info *const *)a;
    const struct pci_dev_info *y = *(const struct pci_dev_info *const *)b;
    return strcmp(x->address, y->address);
}

int pci_plan_devices(const struct vm_profile *p, const struct pci_host *h,
                     const struct pci_dev_info **take, size_t max, struct vmrun_error *err)
{
    char label[PCI_ADDR_LEN + PCI_NAME_MAX + 2];
    size_t n = 0;
    if (p->n_pci == 0)
        return 0;
    if (!pci_iommu_enabled())
        return vmrun_failx(err, ENODEV, "%s", PCI_IOMMU_OFF_MSG);

    for (size_t i = 0; i < p->n_pci; i++) {
        const struct pci_dev_info *d = pci_host_find(h, p->pci[i].address);
        if (d == NULL)
            return vmrun_failx(err, ENODEV,
                               "pci[%zu]: there is no PCI device %s on this host ('vmrun iommu' "
                               "lists them)",
                               i, p->pci[i].address);
        if (pci_is_bridge(d))
            return vmrun_failx(err, EINVAL,
                               "pci[%zu]: %s is a PCI bridge; give the VM the devices behind it", i,
                               pci_dev_label(d, label, sizeof(label)));
        if (d->iommu_group < 0)
            return vmrun_failx(err, ENODEV, "pci[%zu]: %s has no IOMMU group: %s", i,
                               pci_dev_label(d, label, sizeof(label)), PCI_IOMMU_OFF_MSG);
        if (!in_list(take, n, d)) {
            if (n == max)
                return vmrun_failx(err, E2BIG, "too many PCI devices (at most %zu)", max);
            take[n++] = d;
        }
    }
    size_t n_profile = n;

    /* Group by group: every endpoint must go to the VM (QEMU refuses a
     * group that is "not viable"). */
    int r = 0;
    vmrun_error_clear(err);
    for (size_t i = 0; i < n_profile; i++) {
        int g = take[i]->iommu_group;
        bool seen = false, take_group = false;
        for (size_t k = 0; k < i; k++)
            seen |= take[k]->iommu_group == g;
        if (seen)
            continue;
        for (size_t k = 0; k < p->n_pci; k++) {
            const struct pci_dev_info *d = pci_host_find(h, p->pci[k].address);
            take_group |= d != NULL && d->iommu_group == g && p->pci[k].take_group;
        }
        const struct pci_dev_info *members[PCI_TAKE_MAX];
        size_t nm = pci_group_members(h, g, members, ARRAY_SIZE(members));
        if (nm > ARRAY_SIZE(members))
            nm = ARRAY_SIZE(members);
        const struct pci_dev_info *missing[PCI_TAKE_MAX];
        size_t n_missing = 0;
        for (size_t m = 0; m < nm; m++) {
            if (pci_is_bridge(members[m]) || in_list(take, n_profile, members[m]))
                continue;
            if (take_group) {
                if (in_list(take, n, members[m]))
                    continue;
                if (n == max)
                    return vmrun_failx(err, E2BIG, "too many PCI devices (at most %zu)", max);
                take[n++] = members[m];
            } else {
                missing[n_missing++] = members[m];
            }
        }
        if (n_missing == 0)
            continue;
        if (r == 0)
            r = -EBUSY;
        else
            err_append(err, "\n");
        err_append(err,
                   "IOMMU group %d is not viable: %s shares it with endpoints the profile does "
                   "not give to the VM:\n",
                   g, pci_dev_label(take[i], label, sizeof(label)));
        for (size_t m = 0; m < n_missing; m++)
            err_append(err, "  %s (driver %s)\n", pci_dev_label(missing[m], label, sizeof(label)),
                       missing[m]->driver[0] ? missing[m]->driver : "none");
        err_append(err, "Every endpoint of a group must go to the VM (bridges excepted). Add them "
                        "to the profile's \"pci\" list:\n");
        for (size_t m = 0; m < n_missing; m++)
            err_append(err, "  {\"address\": \"%s\"}%s\n", missing[m]->address,
                       m + 1 < n_missing ? "," : "");
        err_append(err, "or set \"take_group\": true on %s to take the whole group.",
                   take[i]->address);
    }
    if (r < 0) {
        err->code = EBUSY;
        return r;
    }
    qsort(take, n, sizeof(*take), cmp_dev_ptr);
    return (int)n;
}

int pci_check_users(const struct pci_dev_info *const *take, size_t n, bool force, bool handoff,
                    void (*say_fn)(void *opaque, const char *msg), void *say_opaque,
                    struct vmrun_error *err)
{
    char label[PCI_ADDR_LEN + PCI_NAME_MAX + 2];
    bool refused = false;
    vmrun_error_clear(err);
    for (size_t k = 0; k < n; k++) {
        const struct pci_dev_info *d = take[k];
        if (strcmp(d->driver, VFIO_DRIVER) == 0)
            continue;
        struct pci_users u;
        struct vmrun_error one = {0};
        int r = pci_find_users(d, handoff, &u, &one);
        if (r < 0) {
            *err = one;
            return vmrun_error_prefix(err, "%s", pci_dev_label(d, label, sizeof(label)));
        }
        for (size_t i = 0; i < u.n; i++) {
            if (force && !u.items[i].loses_data) {
                vmrun_say(say_fn, say_opaque, "warning: %s: %s; taking it anyway (--force)",
                          pci_dev_label(d, label, sizeof(label)), u.items[i].msg);
                continue;
            }
            err_append(err, "%s%s: %s", refused ? "\n" : "", pci_dev_label(d, label, sizeof(label)),
                       u.items[i].msg);
            refused = true;
        }
    }
    if (refused) {
        err->code = EBUSY;
        return -EBUSY;
    }
    return 0;
}

/* ---- vfio-pci ---- */

static bool is_test_sysfs(void)
{
    return strcmp(host_root(HOST_SYS), "/sys") != 0;
}

/* Loading vfio-pci is the one host change that is not journaled or
 * undone: an idle module binds nothing (driver_override decides which
 * devices it takes), unloading it could pull it from under another VM, and
 * the next start needs it again. */
int pci_load_vfio(struct vmrun_error *err)
{
    char path[PATH_MAX];
    if (host_path(path, sizeof(path), HOST_SYS, "/bus/pci/drivers/" VFIO_DRIVER) < 0)
        return vmrun_failx(err, ENAMETOOLONG, "sysfs root too long");
    if (pci_sysfs_exists(path))
        return 0;
    if (is_test_sysfs())
        return vmrun_failx(err, ENOENT,
                           "vfio-pci is not loaded (%s is missing); modprobe is not run for a "
                           "test sysfs root",
                           path);
    int r = host_modprobe(VFIO_DRIVER, "the kernel needs the vfio-pci module (CONFIG_VFIO_PCI)",
                          err);
    if (r < 0)
        return r;
    for (int waited = 0; !pci_sysfs_exists(path); waited += 20) {
        if (waited >= VFIO_NODE_WAIT_MS)
            return vmrun_failx(err, ENOENT, "modprobe vfio-pci succeeded but %s did not appear",
                               path);
        sleep_ms(20);
    }
    return 0;
}

/* ---- binding ---- */

static int driver_path(char *buf, size_t len, const char *driver, const char *attr)
{
    return host_path(buf, len, HOST_SYS, "/bus/pci/drivers/%s/%s", driver, attr);
}

/* A timed-out write: name the processes holding the device. */
static void explain_timeout(const char *address, struct vmrun_error *err)
{
    struct pci_dev_info d = {0};
    snprintf(d.address, sizeof(d.address), "%s", address);
    pci_current_driver(address, d.driver, sizeof(d.driver));
    d.iommu_group = pci_iommu_group(address);
    struct dev_holders h;
    struct vmrun_error ignored;
    char who[1024] = "";
    if (pci_find_holders(&d, &h, &ignored) == 0) {
        devnodes_holders_describe(&h, who, sizeof(who));
        devnodes_holders_free(&h);
    }
    if (who[0] != '\0')
        err_append(err, ". The device is held by: %s", who);
    else
        err_append(err, ". No process has the device's nodes open: a kernel user (a console "
                        "or another driver) holds it");
}

int pci_bind_device(struct journal *j, const struct pci_dev_info *d, struct vmrun_error *err)
{
    char label[PCI_ADDR_LEN + PCI_NAME_MAX + 2], path[PATH_MAX], driver[PCI_DRIVER_MAX];
    char override[128];
    int r;
    pci_dev_label(d, label, sizeof(label));

    r = pci_current_driver(d->address, driver, sizeof(driver));
    if (r < 0)
        return vmrun_fail(err, -r, "%s: read its driver", label);
    if (strcmp(driver, VFIO_DRIVER) == 0)
        return 0; /* not ours: left as it is, and not given back later */
    if (pci_sysfs_attr_path(path, sizeof(path), d->address, "driver_override") < 0)
        return vmrun_failx(err, ENAMETOOLONG, "sysfs root too long");
    if (pci_sysfs_read(path, override, sizeof(override)) < 0 || strcmp(override, "(null)") == 0)
        override[0] = '\0';

    cJSON *args = cJSON_CreateObject();
    if (args == NULL)
        return vmrun_fail(err, ENOMEM, "journal");
    cJSON_AddStringToObject(args, "address", d->address);
    cJSON_AddStringToObject(args, "name", d->name);
    if (driver[0])
        cJSON_AddStringToObject(args, "driver", driver);
    else
        cJSON_AddNullToObject(args, "driver");
    if (override[0])
        cJSON_AddStringToObject(args, "override", override);
    else
        cJSON_AddNullToObject(args, "override");
    cJSON_AddNumberToObject(args, "group", d->iommu_group);
    r = journal_record(j, "pci-bind", args, err);
    if (r < 0)
        return r;

    /* driver_override first: from then on only vfio-pci can take the
     * device, whatever probes it. */
    if ((r = pci_sysfs_write(path, VFIO_DRIVER, NULL, err)) < 0)
        return vmrun_error_prefix(err, "%s", label);
    if (driver[0]) {
        char unbind[PATH_MAX];
        if (driver_path(unbind, sizeof(unbind), driver, "unbind") < 0)
            return vmrun_failx(err, ENAMETOOLONG, "sysfs root too long");
        r = pci_sysfs_write(unbind, d->address, NULL, err);
        if (r == -ETIMEDOUT)
            explain_timeout(d->address, err);
        if (r < 0)
            return vmrun_error_prefix(err, "%s: unbind from %s", label, driver);
    }
    if (host_path(path, sizeof(path), HOST_SYS, "/bus/pci/drivers_probe") < 0)
        return vmrun_failx(err, ENAMETOOLONG, "sysfs root too long");
    if ((r = pci_sysfs_write(path, d->address, NULL, err)) < 0)
        return vmrun_error_prefix(err, "%s", label);

    char now[PCI_DRIVER_MAX];
    pci_current_driver(d->address, now, sizeof(now));
    if (strcmp(now, VFIO_DRIVER) != 0)
        return vmrun_failx(err, EIO, "%s: vfio-pci did not take the device (its driver is now %s)",
                           label, now[0] ? now : "none");
    char node[PATH_MAX];
    if (host_path(node, sizeof(node), HOST_DEV, "/vfio/%d", d->iommu_group) < 0)
        return vmrun_failx(err, ENAMETOOLONG, "/dev root too long");
    for (int waited = 0; !pci_sysfs_exists(node); waited += 20) {
        if (waited >= VFIO_NODE_WAIT_MS)
            return vmrun_failx(err, ENOENT, "%s is on vfio-pci but %s did not appear within %d ms",
                               label, node, VFIO_NODE_WAIT_MS);
        sleep_ms(20);
    }
    return journal_done(j, err);
}

/* ---- giving back ---- */

/* What give_back() did beyond the usual, for the undo's report. */
static char revived_note[512];

static int give_back(const char *address, const char *name, const char *driver,
                     const char *override, struct vmrun_error *err);

static int give_back_failed(struct vmrun_error *err, const char *label, const char *address,
                            const char *driver, const char *override)
{
    char now[PCI_DRIVER_MAX], path[PATH_MAX];
    pci_current_driver(address, now, sizeof(now));
    err_append(err, ". Its driver is now %s. To give it back by hand:", now[0] ? now : "none");
    if (now[0] && strcmp(now, driver) != 0) {
        driver_path(path, sizeof(path), now, "unbind");
        err_append(err, " echo %s > %s;", address, path);
    }
    pci_sysfs_attr_path(path, sizeof(path), address, "driver_override");
    if (override != NULL)
        err_append(err, " echo %s > %s;", override, path);
    else
        err_append(err, " echo > %s;", path);
    driver_path(path, sizeof(path), driver, "bind");
    err_append(err, " echo %s > %s", address, path);
    return vmrun_error_prefix(err, "%s could not be given back to %s", label, driver);
}

int pci_give_back(const char *address, const char *name, const char *driver, const char *override,
                  struct vmrun_error *err)
{
    int r = give_back(address, name, driver, override, err);
    /* A device brought back by a rescan: the undo's report says so. */
    if (r == 0 && revived_note[0] != '\0') {
        err->code = 0;
        snprintf(err->msg, sizeof(err->msg), "%s", revived_note);
    }
    revived_note[0] = '\0';
    return r;
}

static int give_back(const char *address, const char *name, const char *driver,
                     const char *override, struct vmrun_error *err)
{
    char label[PCI_ADDR_LEN + PCI_NAME_MAX + 2], path[PATH_MAX], now[PCI_DRIVER_MAX];
    int r;
    snprintf(label, sizeof(label), "%s%s%s", address, name ? " " : "", name ? name : "");
    r = pci_current_driver(address, now, sizeof(now));
    if (r == -ENODEV)
        return 0; /* the device is gone (hot-unplugged): nothing to give back */
    if (r < 0)
        return vmrun_fail(err, -r, "%s: read its driver", label);

    if (strcmp(now, VFIO_DRIVER) == 0 && (driver == NULL || strcmp(driver, VFIO_DRIVER) != 0)) {
        driver_path(path, sizeof(path), VFIO_DRIVER, "unbind");
        r = pci_sysfs_write(path, address, NULL, err);
        if (r == -ETIMEDOUT)
            explain_timeout(address, err);
        if (r < 0)
            return driver ? give_back_failed(err, label, address, driver, override)
                          : vmrun_error_prefix(err, "%s could not be taken off vfio-pci", label);
    }
    /* An empty line clears driver_override. */
    pci_sysfs_attr_path(path, sizeof(path), address, "driver_override");
    char value[160];
    snprintf(value, sizeof(value), "%s\n", override ? override : "");
    if ((r = pci_sysfs_write(path, value, NULL, err)) < 0)
        return driver ? give_back_failed(err, label, address, driver, override)
                      : vmrun_error_prefix(err, "%s", label);
    if (driver == NULL)
        return 0; /* it had no driver: it stays without one */

    /* Before a host driver touches it again, the device must answer:
     * binding a driver to a device that does not (a GPU that missed its
     * reset, stuck in D3cold) can hang the host. */
    char state[256];
    r = pci_health_answers(address, state, sizeof(state));
    if (r == -ENODEV)
        return 0;
    if (r == 0) {
        r = pci_health_revive(address, label, driver, state, err);
        if (r <= 0)
            return r < 0 ? r : -EIO;
        snprintf(revived_note, sizeof(revived_note),
                 "it did not answer after the VM (%s); removed from the bus and rescanned, it "
                 "came back",
                 state);
    }

    pci_current_driver(address, now, sizeof(now));
    if (now[0] == '\0') {
        host_path(path, sizeof(path), HOST_SYS, "/bus/pci/drivers_probe");
        if ((r = pci_sysfs_write(path, address, NULL, err)) < 0)
            return give_back_failed(err, label, address, driver, override);
        pci_current_driver(address, now, sizeof(now));
    }
    if (strcmp(now, driver) == 0)
        return 0;

    /* Reprobing picked another driver (nouveau for a card that was on
     * nvidia) or none: bind the original one explicitly. */
    if (now[0] != '\0') {
        driver_path(path, sizeof(path), now, "unbind");
        if ((r = pci_sysfs_write(path, address, NULL, err)) < 0)
            return give_back_failed(err, label, address, driver, override);
    }
    driver_path(path, sizeof(path), driver, "bind");
    if ((r = pci_sysfs_write(path, address, NULL, err)) < 0)
        return give_back_failed(err, label, address, driver, override);
    pci_current_driver(address, now, sizeof(now));
    if (strcmp(now, driver) != 0) {
        vmrun_failx(err, EIO, "binding to %s did not take", driver);
        return give_back_failed(err, label, address, driver, override);
    }
    return 0;
}

/* A journal record comes from a file: never write a value from it to sysfs
 * unchecked. */
static bool plain_name(const char *s)
{
    if (s == NULL || *s == '\0' || strlen(s) >= PCI_DRIVER_MAX || strcmp(s, ".") == 0 ||
        strcmp(s, "..") == 0)
        return false;
    for (; *s; s++)
        if (*s == '/' || *s == '\n' || (unsigned char)*s < 0x20)
            return false;
    return true;
}

static int pci_bind_undo(const cJSON *args, struct vmrun_error *err)
{
    const char *address = oparg_string(args, "address");
    const char *driver = oparg_string(args, "driver");
    const char *override = oparg_string(args, "override");
    char norm[PCI_ADDR_LEN];
    if (address == NULL || pci_normalize_address(address, norm) < 0)
        return vmrun_failx(err, EINVAL, "pci-bind record without a valid \"address\"");
    if ((driver != NULL && !plain_name(driver)) || (override != NULL && !plain_name(override)))
        return vmrun_failx(err, EINVAL, "pci-bind record for %s has an invalid driver name", norm);
    return pci_give_back(norm, oparg_string(args, "name"), driver, override, err);
}

static void pci_bind_describe(const cJSON *args, char *buf, size_t len)
{
    const char *address = oparg_string(args, "address");
    const char *name = oparg_string(args, "name");
    const char *driver = oparg_string(args, "driver");
    if (driver != NULL)
        snprintf(buf, len, "give %s (%s) back to %s", address ? address : "?", name ? name : "?",
                 driver);
    else
        snprintf(buf, len, "take %s (%s) off vfio-pci (it had no driver)", address ? address : "?",
                 name ? name : "?");
}

const struct journal_op pci_journal_ops[] = {
    {"pci-bind", pci_bind_undo, pci_bind_describe},
    {NULL, NULL, NULL},
};

/* ---- the plan step ---- */

int pci_check(const struct vm_profile *p, bool force, void (*say_fn)(void *opaque, const char *msg),
              void *say_opaque, struct vmrun_error *err)
{
    if (p->n_pci == 0)
        return 0;
    struct pci_host h;
    int r = pci_host_scan(&h, err);
    if (r < 0)
        return r;
    const struct pci_dev_info *take[PCI_TAKE_MAX];
    int n = pci_plan_devices(p, &h, take, ARRAY_SIZE(take), err);
    if (n >= 0) {
        r = pci_check_users(take, (size_t)n, force, p->handoff.present, say_fn, say_opaque, err);
        if (r < 0)
            n = r;
    }
    pci_host_free(&h);
    return n;
}

/* The profile's pci[].reset_method for a device (NULL: none, or a device
 * taken only with its group). */
static const char *profile_reset_method(const struct vm_profile *p, const struct pci_dev_info *d)
{
    for (size_t i = 0; i < p->n_pci; i++)
        if (strcmp(p->pci[i].address, d->address) == 0)
            return p->pci[i].reset_method;
    return NULL;
}

/* The checks of pci_prepare that change nothing: which devices, their
 * groups, who uses them, their ROM files. */
static int pci_checks(struct host_prep *hp, struct pci_host *h, const struct pci_dev_info **take,
                      size_t max, struct vmrun_error *err)
{
    const struct vm_profile *p = hp->profile;
    int n = pci_plan_devices(p, h, take, max, err);
    if (n < 0)
        return n;
    int r = pci_check_users(take, (size_t)n, hp->force, p->handoff.present, hp->say, hp->say_opaque,
                            err);
    for (size_t i = 0; r == 0 && i < p->n_pci; i++) {
        const struct pci_dev_info *d = pci_host_find(h, p->pci[i].address);
        if (d != NULL)
            r = pci_rom_check_entry(p, i, d->vendor, d->device, NULL, 0, err);
    }
    return r < 0 ? r : n;
}

int pci_precheck(struct host_prep *hp, struct vmrun_error *err)
{
    if (hp->profile == NULL || hp->profile->n_pci == 0)
        return 0;
    struct pci_host h;
    int r = pci_host_scan(&h, err);
    if (r < 0)
        return r;
    const struct pci_dev_info *take[PCI_TAKE_MAX];
    r = pci_checks(hp, &h, take, ARRAY_SIZE(take), err);
    pci_host_free(&h);
    return r < 0 ? r : 0;
}

int pci_prepare(struct host_prep *hp, struct vmrun_error *err)
{
    const struct vm_profile *p = hp->profile;
    if (p == NULL || p->n_pci == 0)
        return 0;
    struct pci_host h;
    int r = pci_host_scan(&h, err);
    if (r < 0)
        return r;
    const struct pci_dev_info *take[PCI_TAKE_MAX];
    /* Again, right before the change: the host may have moved since the
     * precheck (the display handoff ran in between). */
    int n = pci_checks(hp, &h, take, ARRAY_SIZE(take), err);
    if (n < 0) {
        pci_host_free(&h);
        return n;
    }
    r = 0;
    if (r == 0)
        r = pci_load_vfio(err);
    char label[PCI_ADDR_LEN + PCI_NAME_MAX + 2];
    for (int k = 0; r == 0 && k < n; k++) {
        if (strcmp(take[k]->driver, VFIO_DRIVER) != 0) {
            r = pci_health_prepare(hp->journal, take[k], profile_reset_method(p, take[k]), hp->say,
                                   hp->say_opaque, err);
            if (r < 0)
                break;
        }
        vmrun_say(hp->say, hp->say_opaque, "%s: binding to vfio-pci (from %s)",
                  pci_dev_label(take[k], label, sizeof(label)),
                  take[k]->driver[0] ? take[k]->driver : "no driver");
        r = pci_bind_device(hp->journal, take[k], err);
        if (r < 0)
            break;
        unsigned g = (unsigned)take[k]->iommu_group;
        bool have = false;
        for (size_t i = 0; i < hp->n_vfio_groups; i++)
            have |= hp->vfio_groups[i] == g;
        if (!have && hp->n_vfio_groups < ARRAY_SIZE(hp->vfio_groups))
            hp->vfio_groups[hp->n_vfio_groups++] = g;
    }
    pci_host_free(&h);
    return r;
}
