/* Reset method, D3cold and the config-space check (pci_health.h). */
#include "host/pci/pci_health.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/say.h"
#include "host/pci/pci_sysfs.h"
#include "journal/opargs.h"
#include "sys/hostpath.h"
#include "sys/seams.h"
#include "sys/timed_write.h"

/* A rescan probes every new device's driver: give it longer than one
 * attribute write. */
#define RESCAN_LIMIT_FACTOR 3

/* ---- reset method ---- */

/* Only method names from a journal record are written back. */
static bool plain_methods(const char *s)
{
    return strspn(s, "abcdefghijklmnopqrstuvwxyz_ ") == strlen(s) && strlen(s) < 128;
}

static bool vendor_reset_loaded(void)
{
    char path[PATH_MAX];
    return host_path(path, sizeof(path), HOST_SYS, "/module/vendor_reset") == 0 &&
           pci_sysfs_exists(path);
}

static int prepare_reset(struct journal *j, const struct pci_dev_info *d, const char *override,
                         void (*say)(void *, const char *), void *opaque, struct vmrun_error *err)
{
    char path[PATH_MAX], now[128];
    if (pci_sysfs_attr_path(path, sizeof(path), d->address, "reset_method") < 0)
        return vmrun_failx(err, ENAMETOOLONG, "sysfs root too long");
    if (!pci_sysfs_exists(path)) {
        if (override != NULL)
            return vmrun_failx(err, EINVAL,
                               "%s: reset_method \"%s\" cannot be used: the kernel knows no way "
                               "to reset this device (it has no %s)",
                               d->address, override, path);
        return 0;
    }
    if (pci_sysfs_read(path, now, sizeof(now)) < 0)
        now[0] = '\0';
    const char *want = override;
    bool soft = false;
    if (want == NULL && (d->class_code >> 8) == 0x03 && vendor_reset_loaded() &&
        strncmp(now, "device_specific", 15) != 0) {
        want = "device_specific";
        soft = true;
    }
    if (want == NULL || strcmp(want, now) == 0)
        return 0;

    cJSON *args = cJSON_CreateObject();
    if (args == NULL)
        return vmrun_fail(err, ENOMEM, "journal");
    cJSON_AddStringToObject(args, "address", d->address);
    cJSON_AddStringToObject(args, "old", now);
    int r = journal_record(j, "pci-reset-method", args, err);
    if (r < 0)
        return r;
    struct vmrun_error werr = {0};
    r = pci_sysfs_write(path, want, NULL, &werr);
    if (r < 0 && soft) {
        vmrun_say(
            say, opaque,
            "%s: the vendor-reset module is loaded but the kernel refused \"device_specific\" "
            "for this device (vendor-reset does not handle it): keeping its reset methods "
            "\"%s\"",
            d->address, now);
    } else if (r < 0) {
        *err = werr;
        return vmrun_error_prefix(err,
                                  "%s: the kernel refused reset_method \"%s\" (it offers \"%s\" "
                                  "for this device)",
                                  d->address, want, now);
    } else {
        vmrun_say(say, opaque, "%s: reset method \"%s\" while the VM runs (it was \"%s\")%s",
                  d->address, want, now,
                  soft ? ": the vendor-reset module handles this device" : "");
    }
    return journal_done(j, err);
}

static int reset_undo(const cJSON *args, struct vmrun_error *err)
{
    const char *address = oparg_string(args, "address");
    const char *old = oparg_string(args, "old");
    char norm[PCI_ADDR_LEN], path[PATH_MAX], value[160];
    if (address == NULL || pci_normalize_address(address, norm) < 0 || old == NULL ||
        !plain_methods(old))
        return vmrun_failx(err, EINVAL,
                           "pci-reset-method record without a valid address and "
                           "old methods");
    if (pci_sysfs_attr_path(path, sizeof(path), norm, "reset_method") < 0)
        return vmrun_failx(err, ENAMETOOLONG, "sysfs root too long");
    if (!pci_sysfs_exists(path))
        return 0; /* the device is gone */
    /* An empty line is "no method", as it was. */
    snprintf(value, sizeof(value), "%s\n", old);
    return pci_sysfs_write(path, value, NULL, err);
}

static void reset_describe(const cJSON *args, char *buf, size_t len)
{
    const char *address = oparg_string(args, "address");
    const char *old = oparg_string(args, "old");
    snprintf(buf, len, "restore the reset methods of %s (\"%s\")", address ? address : "?",
             old ? old : "?");
}

/* ---- D3cold ---- */

static int prepare_d3cold(struct journal *j, const struct pci_dev_info *d, struct vmrun_error *err)
{
    char path[PATH_MAX], now[16];
    if (pci_sysfs_attr_path(path, sizeof(path), d->address, "d3cold_allowed") < 0)
        return vmrun_failx(err, ENAMETOOLONG, "sysfs root too long");
    if (pci_sysfs_read(path, now, sizeof(now)) < 0 || strcmp(now, "1") != 0)
        return 0; /* absent, or already off */
    cJSON *args = cJSON_CreateObject();
    if (args == NULL)
        return vmrun_fail(err, ENOMEM, "journal");
    cJSON_AddStringToObject(args, "address", d->address);
    int r = journal_record(j, "pci-d3cold", args, err);
    if (r < 0)
        return r;
    if ((r = pci_sysfs_write(path, "0", NULL, err)) < 0)
        return vmrun_error_prefix(err, "%s: keep it out of D3cold", d->address);
    return journal_done(j, err);
}

static int d3cold_undo(const cJSON *args, struct vmrun_error *err)
{
    const char *address = oparg_string(args, "address");
    char norm[PCI_ADDR_LEN], path[PATH_MAX];
    if (address == NULL || pci_normalize_address(address, norm) < 0)
        return vmrun_failx(err, EINVAL, "pci-d3cold record without a valid address");
    if (pci_sysfs_attr_path(path, sizeof(path), norm, "d3cold_allowed") < 0)
        return vmrun_failx(err, ENAMETOOLONG, "sysfs root too long");
    if (!pci_sysfs_exists(path))
        return 0;
    return pci_sysfs_write(path, "1", NULL, err);
}

static void d3cold_describe(const cJSON *args, char *buf, size_t len)
{
    const char *address = oparg_string(args, "address");
    snprintf(buf, len, "allow D3cold on %s again", address ? address : "?");
}

const struct journal_op pci_health_journal_ops[] = {
    {"pci-reset-method", reset_undo, reset_describe},
    {"pci-d3cold", d3cold_undo, d3cold_describe},
    {NULL, NULL, NULL},
};

int pci_health_prepare(struct journal *j, const struct pci_dev_info *d, const char *reset_override,
                       void (*say)(void *, const char *), void *say_opaque, struct vmrun_error *err)
{
    int r = prepare_reset(j, d, reset_override, say, say_opaque, err);
    if (r < 0)
        return r;
    return prepare_d3cold(j, d, err);
}

/* ---- does it answer? ---- */

/* The test build's stand-in for a device that stopped answering
 * (SEAM_PCI_DEAD): listed addresses read as 0xffff until this process
 * has removed them and rescanned the bus; then the device's own answer
 * counts. The rest of the path (the remove, the rescan, the driver) is the
 * kernel's. */
static char revived[8][PCI_ADDR_LEN];
static size_t n_revived;

static bool simulated_dead(const char *address)
{
    const char *list = seam_value(SEAM_PCI_DEAD);
    if (list == NULL)
        return false;
    for (size_t k = 0; k < n_revived; k++)
        if (strcmp(revived[k], address) == 0)
            return false;
    size_t n = strlen(address);
    for (const char *p = list; (p = strstr(p, address)) != NULL; p += n)
        if ((p == list || p[-1] == ',') && (p[n] == '\0' || p[n] == ','))
            return true;
    return false;
}

int pci_health_answers(const char *address, char *state, size_t len)
{
    char path[PATH_MAX], power[32];
    state[0] = '\0';
    if (host_path(path, sizeof(path), HOST_SYS, "/bus/pci/devices/%s", address) < 0)
        return -ENAMETOOLONG;
    if (!pci_sysfs_exists(path))
        return -ENODEV;
    if (pci_sysfs_attr_path(path, sizeof(path), address, "power_state") < 0 ||
        pci_sysfs_read(path, power, sizeof(power)) < 0)
        power[0] = '\0';
    unsigned char id[2] = {0xff, 0xff};
    bool read_ok = false;
    if (simulated_dead(address)) {
        read_ok = true; /* what a device that fell off the bus gives: all ones */
    } else if (pci_sysfs_attr_path(path, sizeof(path), address, "config") == 0) {
        cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        read_ok = fd >= 0 && pread(fd, id, sizeof(id), 0) == (ssize_t)sizeof(id);
    }
    unsigned vendor = id[0] | (unsigned)id[1] << 8;
    if (read_ok && vendor != 0xffff) {
        snprintf(state, len, "vendor id 0x%04x%s%s", vendor, power[0] ? ", power state " : "",
                 power);
        return 1;
    }
    snprintf(state, len, "%s%s%s",
             read_ok ? "its config space reads 0xffff" : "its config space cannot be read",
             power[0] ? ", power state " : "", power);
    return 0;
}

int pci_health_revive(const char *address, const char *label, const char *driver, const char *state,
                      struct vmrun_error *err)
{
    char path[PATH_MAX];
    if (pci_sysfs_attr_path(path, sizeof(path), address, "remove") < 0)
        return vmrun_failx(err, ENAMETOOLONG, "sysfs root too long");
    int r = timed_write(path, "1", 0, NULL, err);
    if (r < 0)
        return vmrun_error_prefix(err,
                                  "%s does not answer after the VM (%s); vmrun did not bind it "
                                  "to %s, and removing it from the bus failed",
                                  label, state, driver);
    if (host_path(path, sizeof(path), HOST_SYS, "/bus/pci/rescan") < 0)
        return vmrun_failx(err, ENAMETOOLONG, "sysfs root too long");
    r = timed_write(path, "1", timed_write_limit_ms() * RESCAN_LIMIT_FACTOR, NULL, err);
    if (n_revived < sizeof(revived) / sizeof(revived[0]))
        snprintf(revived[n_revived++], PCI_ADDR_LEN, "%s", address);
    if (r < 0)
        return vmrun_error_prefix(err,
                                  "%s does not answer after the VM (%s); vmrun did not bind it "
                                  "to %s, removed it from the bus, and the rescan failed (run "
                                  "'echo 1 > %s' later)",
                                  label, state, driver, path);
    char now[256];
    int a = pci_health_answers(address, now, sizeof(now));
    if (a == 1)
        return 1;
    if (a == -ENODEV)
        vmrun_failx(err, EIO,
                    "%s does not answer after the VM (%s). vmrun did not bind it to %s: binding "
                    "a driver to a device that does not answer can hang or crash the host. It "
                    "was removed from the PCI bus and the bus rescanned, and it did not come "
                    "back: the kernel no longer sees it, so nothing on the host can use it. Shut "
                    "the machine down completely (power off, not a reboot: a GPU that missed "
                    "its reset keeps its state across a warm reboot) and start it again. If it "
                    "happens after every VM, the device needs another reset: set "
                    "pci[].reset_method (\"bus\", or \"device_specific\" with the vendor-reset "
                    "module for AMD GPUs)",
                    label, state, driver);
    else
        vmrun_failx(err, EIO,
                    "%s does not answer after the VM (%s), nor after it was removed from the "
                    "PCI bus and the bus rescanned (%s). vmrun did not bind it to %s: binding a "
                    "driver to a device that does not answer can hang or crash the host. Power "
                    "the machine off completely and start it again; if it happens after every "
                    "VM, set pci[].reset_method (\"bus\", or \"device_specific\" with the "
                    "vendor-reset module for AMD GPUs)",
                    label, state, now, driver);
    return 0;
}
