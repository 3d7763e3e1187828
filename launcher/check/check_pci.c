/* `vmrun check`: the IOMMU, the vfio-pci driver, and each PCI device the
 * profile passes through: present, its IOMMU group viable, its driver and
 * what on the host uses it (check.h). */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "base/cleanup.h"
#include "check/check.h"
#include "check/check_internal.h"
#include "host/pci/pci_bind.h"
#include "host/pci/pci_host.h"
#include "host/pci/pci_rom.h"
#include "host/pci/pci_users.h"
#include "sys/hostfile.h"
#include "sys/hostpath.h"

#define CHECK_PCI_MAX 256

/* ---- IOMMU, vfio-pci, the devices ---- */

static const char *iommu_kernel_option(void)
{
    char path[PATH_MAX];
    if (host_path(path, sizeof(path), HOST_PROC, "/cpuinfo") < 0)
        return NULL;
    cleanup_fclose FILE *f = fopen(path, "re");
    char line[512];
    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "vendor_id", 9) != 0)
            continue;
        if (strstr(line, "GenuineIntel") != NULL)
            return "intel_iommu=on";
        if (strstr(line, "AuthenticAMD") != NULL || strstr(line, "HygonGenuine") != NULL)
            return "amd_iommu=on";
        return NULL;
    }
    return NULL;
}

static size_t count_iommu_groups(void)
{
    char path[PATH_MAX];
    if (host_path(path, sizeof(path), HOST_SYS, "/kernel/iommu_groups") < 0)
        return 0;
    cleanup_closedir DIR *d = opendir(path);
    size_t n = 0;
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    return n;
}

static void check_iommu(struct check_report *r)
{
    if (pci_iommu_enabled()) {
        check_add(r, "iommu", CHECK_PASS, "the IOMMU is on (%zu IOMMU groups)",
                  count_iommu_groups());
        return;
    }
    char path[PATH_MAX] = "";
    (void)host_path(path, sizeof(path), HOST_SYS, "/kernel/iommu_groups");
    struct check_item *it =
        check_add(r, "iommu", CHECK_FAIL, "the IOMMU is off: %s has no groups", path);
    const char *opt = iommu_kernel_option();
    if (opt != NULL)
        check_hint(r, it,
                   "enable %s in the firmware setup and add %s iommu=pt to the kernel command line",
                   strcmp(opt, "intel_iommu=on") == 0 ? "VT-d" : "AMD-Vi (IOMMU)", opt);
    else
        check_hint(
            r, it,
            "enable VT-d / AMD-Vi in the firmware setup and add intel_iommu=on or amd_iommu=on "
            "(by CPU vendor) to the kernel command line");
}

/* Does modules.dep or modules.builtin of the running kernel name
 * vfio-pci? */
static bool vfio_module_available(const char *modules_dir, char *where, size_t len)
{
    struct utsname u;
    if (uname(&u) < 0)
        return false;
    static const char *const files[] = {"modules.builtin", "modules.dep"};
    for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s/%s", modules_dir, u.release, files[i]);
        cleanup_fclose FILE *f = fopen(path, "re");
        char line[1024];
        while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
            char *colon = strchr(line, ':');
            if (colon != NULL)
                *colon = '\0';
            line[strcspn(line, "\n")] = '\0';
            const char *base = strrchr(line, '/');
            base = base ? base + 1 : line;
            if (strncmp(base, "vfio-pci.ko", 11) == 0 || strncmp(base, "vfio_pci.ko", 11) == 0) {
                snprintf(where, len, "%s", path);
                return true;
            }
        }
    }
    return false;
}

static void check_vfio(const struct check_options *opt, struct check_report *r)
{
    char path[PATH_MAX];
    if (host_path(path, sizeof(path), HOST_SYS, "/bus/pci/drivers/vfio-pci") == 0 &&
        hostfile_exists(path)) {
        check_add(r, "vfio-pci", CHECK_PASS, "the vfio-pci driver is loaded (%s)", path);
        return;
    }
    char where[PATH_MAX];
    const char *mods = opt->modules_dir != NULL ? opt->modules_dir : "/lib/modules";
    if (vfio_module_available(mods, where, sizeof(where))) {
        check_add(r, "vfio-pci", CHECK_PASS,
                  "vfio-pci is not loaded; %s lists it and vmrun loads it at start", where);
        return;
    }
    struct check_item *it = check_add(r, "vfio-pci", CHECK_WARN,
                                      "vfio-pci is not loaded (%s is absent) and no module list of "
                                      "the running kernel under %s names it; vmrun will try "
                                      "'modprobe vfio-pci' at start",
                                      path, mods);
    check_hint(r, it,
               "the kernel needs CONFIG_VFIO_PCI (a module or built in); check 'modinfo "
               "vfio-pci'");
}

static bool profile_has(const struct vm_profile *p, const struct pci_dev_info *d)
{
    for (size_t i = 0; i < p->n_pci; i++)
        if (strcmp(p->pci[i].address, d->address) == 0)
            return true;
    return false;
}

static bool group_taken_whole(const struct vm_profile *p, const struct pci_host *h, int group)
{
    for (size_t i = 0; i < p->n_pci; i++) {
        const struct pci_dev_info *d = pci_host_find(h, p->pci[i].address);
        if (d != NULL && d->iommu_group == group && p->pci[i].take_group)
            return true;
    }
    return false;
}

/* One device that goes to the VM: its driver and who uses it. */
static void check_device_users(const struct check_options *opt, struct check_report *r,
                               const char *name, const struct pci_dev_info *d, const char *how,
                               bool handoff)
{
    char label[PCI_ADDR_LEN + PCI_NAME_MAX + 2];
    pci_dev_label(d, label, sizeof(label));
    const char *drv = d->driver[0] ? d->driver : "none";
    struct pci_users u = {0};
    struct vmrun_error e = {0};
    if (strcmp(d->driver, "vfio-pci") == 0) {
        /* Already on vfio-pci (left there, or given to another VM): whoever
         * holds its /dev/vfio group keeps QEMU from opening it. */
        struct dev_holders held = {0};
        if (pci_find_holders(d, &held, &e) == 0 && held.n > 0) {
            char who[2048];
            devnodes_holders_describe(&held, who, sizeof(who));
            struct check_item *it = check_add(r, name, CHECK_FAIL,
                                              "%s: driver vfio-pci, %s, held: %s", label, how, who);
            check_hint(r, it, "another VM or program has its VFIO group open: stop it first");
            devnodes_holders_free(&held);
            return;
        }
        devnodes_holders_free(&held);
    } else if (pci_find_users(d, handoff, &u, &e) < 0) {
        struct check_item *it =
            check_add(r, name, CHECK_WARN, "%s: driver %s, %s; its users could not be examined: %s",
                      label, drv, how, e.msg);
        check_hint(r, it, "vmrun start examines them again and refuses a device in use");
        return;
    }
    if (u.n == 0) {
        check_add(r, name, CHECK_PASS, "%s: driver %s, %s, nothing on the host uses it", label, drv,
                  how);
        return;
    }
    char uses[4096] = "";
    bool loses_data = false;
    for (size_t i = 0; i < u.n; i++) {
        text_append(uses, sizeof(uses), "%s%s", i ? "; " : "", u.items[i].msg);
        loses_data |= u.items[i].loses_data;
    }
    enum check_result res = loses_data || !opt->force ? CHECK_FAIL : CHECK_WARN;
    struct check_item *it =
        check_add(r, name, res, "%s: driver %s, %s, in use: %s", label, drv, how, uses);
    if (loses_data)
        check_hint(r, it, "vmrun start refuses this even with --force: free the device first");
    else if (!opt->force)
        check_hint(r, it,
                   "vmrun start refuses this without --force: free the device first, or "
                   "take it anyway with --force");
    else
        check_hint(r, it, "--force: vmrun start takes it anyway");
}

static bool vendor_reset_loaded(void)
{
    char path[PATH_MAX];
    return host_path(path, sizeof(path), HOST_SYS, "/module/vendor_reset") == 0 &&
           hostfile_exists(path);
}

/* Is every method of want (space-separated) among those of have? */
static bool methods_offered(const char *want, const char *have)
{
    char w[256];
    snprintf(w, sizeof(w), "%s", want);
    char *save = NULL;
    for (char *t = strtok_r(w, " ", &save); t != NULL; t = strtok_r(NULL, " ", &save)) {
        size_t n = strlen(t);
        bool found = false;
        for (const char *h = have; (h = strstr(h, t)) != NULL; h += n)
            found |= (h == have || h[-1] == ' ') && (h[n] == '\0' || h[n] == ' ');
        if (!found)
            return false;
    }
    return true;
}

/* Reset methods, D3cold and the ROM file of pci[i]. */
static void check_device_health(const struct vm_profile *p, size_t i, const struct pci_dev_info *d,
                                struct check_report *r)
{
    char name[64], path[PATH_MAX], now[64];
    const char *want = p->pci[i].reset_method;
    snprintf(name, sizeof(name), "pci %s reset", d->address);
    if (d->reset_method[0] == '\0') {
        struct check_item *it =
            check_add(r, name, want ? CHECK_FAIL : CHECK_WARN,
                      "the kernel knows no way to reset %s (no reset_method)%s", d->address,
                      want ? ", so pci[].reset_method cannot choose one" : "");
        check_hint(r, it, want ? "remove reset_method from this device"
                               : "the guest may find the device as the last boot left it; a "
                                 "reboot of the guest may need a host reboot");
    } else if (want != NULL && !methods_offered(want, d->reset_method)) {
        struct check_item *it =
            check_add(r, name, CHECK_WARN,
                      "pci[%zu].reset_method \"%s\", but the kernel offers \"%s\" now", i, want,
                      d->reset_method);
        check_hint(r, it,
                   "vmrun start stops if the kernel refuses it; a method the device lacks (no "
                   "FLR, no parent bridge for \"bus\") cannot be had");
    } else if (want != NULL) {
        check_add(r, name, CHECK_PASS, "reset method \"%s\" while the VM runs (the kernel's: \"%s\")",
                  want, d->reset_method);
    } else if ((d->class_code >> 8) == 0x03 && vendor_reset_loaded()) {
        check_add(r, name, CHECK_PASS,
                  "reset methods \"%s\"; the vendor-reset module is loaded: vmrun asks for "
                  "\"device_specific\" and keeps these if the kernel refuses it",
                  d->reset_method);
    } else {
        check_add(r, name, CHECK_PASS, "reset methods \"%s\"", d->reset_method);
    }

    snprintf(name, sizeof(name), "pci %s d3cold", d->address);
    if (host_path(path, sizeof(path), HOST_SYS, "/bus/pci/devices/%s/d3cold_allowed",
                  d->address) < 0 ||
        hostfile_read(path, now, sizeof(now)) < 0)
        check_add(r, name, CHECK_PASS, "no D3cold control for %s", d->address);
    else if (strcmp(now, "1") == 0)
        check_add(r, name, CHECK_PASS,
                  "D3cold allowed: vmrun turns it off while the VM runs (d3cold_allowed 0) and "
                  "back on after");
    else
        check_add(r, name, CHECK_PASS, "D3cold not allowed (d3cold_allowed %s): left so", now);
    if (host_path(path, sizeof(path), HOST_SYS, "/bus/pci/devices/%s/power_state", d->address) ==
            0 &&
        hostfile_read(path, now, sizeof(now)) == 0 && strcmp(now, "D3cold") == 0) {
        struct check_item *it = check_add(r, name, CHECK_WARN, "%s is in D3cold now", d->address);
        check_hint(r, it, "vfio-pci wakes it when QEMU opens it; a device that does not wake "
                          "needs a host reboot");
    }

    if (p->pci[i].rom == NULL)
        return;
    snprintf(name, sizeof(name), "pci[%zu].rom", i);
    char desc[512];
    struct vmrun_error e = {0};
    if (pci_rom_check_entry(p, i, d->vendor, d->device, desc, sizeof(desc), &e) < 0) {
        struct check_item *it = check_add(r, name, CHECK_FAIL, "%s", e.msg);
        check_hint(r, it, "vmrun start refuses this ROM; 'vmrun rom check FILE ADDRESS%s' checks "
                          "another",
                   pci_rom_guest_uefi(p) ? " --uefi" : "");
    } else {
        check_add(r, name, CHECK_PASS, "%s: %s", p->pci[i].rom, desc);
    }
}

static void check_devices(const struct vm_profile *p, const struct check_options *opt,
                          struct check_report *r)
{
    struct pci_host h = {0};
    struct vmrun_error e = {0};
    if (pci_host_scan(&h, &e) < 0) {
        struct check_item *it = check_add(r, "pci", CHECK_FAIL, "%s", e.msg);
        check_hint(r, it, "PCI passthrough needs sysfs mounted on /sys");
        return;
    }
    char label[PCI_ADDR_LEN + PCI_NAME_MAX + 2];
    bool any_fail = false;
    /* Devices reported so far: the profile's and those take_group adds. */
    const struct pci_dev_info *done[CHECK_PCI_MAX];
    size_t n_done = 0;
    for (size_t i = 0; i < p->n_pci; i++) {
        char name[64];
        snprintf(name, sizeof(name), "pci %s", p->pci[i].address);
        const struct pci_dev_info *d = pci_host_find(&h, p->pci[i].address);
        if (d == NULL) {
            struct check_item *it =
                check_add(r, name, CHECK_FAIL, "pci[%zu]: there is no PCI device %s on this host",
                          i, p->pci[i].address);
            check_hint(r, it, "'vmrun iommu' lists the host's devices and their addresses");
            any_fail = true;
            continue;
        }
        pci_dev_label(d, label, sizeof(label));
        if (pci_is_bridge(d)) {
            struct check_item *it =
                check_add(r, name, CHECK_FAIL, "pci[%zu]: %s is a PCI bridge", i, label);
            check_hint(r, it, "give the VM the devices behind the bridge instead");
            any_fail = true;
            continue;
        }
        if (d->iommu_group < 0) {
            struct check_item *it =
                check_add(r, name, CHECK_FAIL, "pci[%zu]: %s has no IOMMU group", i, label);
            check_hint(r, it, "turn the IOMMU on (see the iommu check)");
            any_fail = true;
            continue;
        }
        const struct pci_dev_info *members[CHECK_PCI_MAX];
        size_t nm = pci_group_members(&h, d->iommu_group, members, ARRAY_SIZE(members));
        if (nm > ARRAY_SIZE(members))
            nm = ARRAY_SIZE(members);
        bool whole = group_taken_whole(p, &h, d->iommu_group);
        char missing[2048] = "", missing_json[1024] = "";
        size_t n_endpoints = 0;
        for (size_t m = 0; m < nm; m++) {
            if (pci_is_bridge(members[m]))
                continue;
            n_endpoints++;
            if (whole || profile_has(p, members[m]))
                continue;
            pci_dev_label(members[m], label, sizeof(label));
            text_append(missing, sizeof(missing), "%s%s (driver %s)", missing[0] ? ", " : "",
                         label, members[m]->driver[0] ? members[m]->driver : "none");
            text_append(missing_json, sizeof(missing_json), "%s{\"address\": \"%s\"}",
                         missing_json[0] ? ", " : "", members[m]->address);
        }
        pci_dev_label(d, label, sizeof(label));
        if (missing[0] != '\0') {
            struct check_item *it =
                check_add(r, name, CHECK_FAIL,
                          "%s: IOMMU group %d is not viable: it also holds %s, which the profile "
                          "does not give to the VM",
                          label, d->iommu_group, missing);
            check_hint(r, it,
                       "every endpoint of a group goes to the VM (bridges excepted): add %s to "
                       "\"pci\", or set \"take_group\": true on %s",
                       missing_json, d->address);
            any_fail = true;
            continue;
        }
        char how[128];
        snprintf(how, sizeof(how), "IOMMU group %d complete (%zu endpoint%s)", d->iommu_group,
                 n_endpoints, n_endpoints == 1 ? "" : "s");
        check_device_users(opt, r, name, d, how, p->handoff.present);
        check_device_health(p, i, d, r);
        if (n_done < ARRAY_SIZE(done))
            done[n_done++] = d;
        if (!whole)
            continue;
        /* take_group: the rest of the group goes too, each reported once. */
        for (size_t m = 0; m < nm; m++) {
            const struct pci_dev_info *x = members[m];
            bool seen = pci_is_bridge(x) || profile_has(p, x);
            for (size_t k = 0; k < n_done && !seen; k++)
                seen = done[k] == x;
            if (seen)
                continue;
            if (n_done < ARRAY_SIZE(done))
                done[n_done++] = x;
            char xname[64], xhow[128];
            snprintf(xname, sizeof(xname), "pci %s", x->address);
            snprintf(xhow, sizeof(xhow), "taken with IOMMU group %d (take_group on %s)",
                     x->iommu_group, d->address);
            check_device_users(opt, r, xname, x, xhow, p->handoff.present);
        }
    }

    /* The plan pci_prepare will follow must agree; should it refuse what
     * the checks above let through, its word is final. */
    if (!any_fail && pci_iommu_enabled()) {
        const struct pci_dev_info *take[CHECK_PCI_MAX];
        if (pci_plan_devices(p, &h, take, ARRAY_SIZE(take), &e) < 0) {
            struct check_item *it = check_add(r, "pci", CHECK_FAIL, "%s", e.msg);
            check_hint(r, it, "vmrun start refuses the devices for this reason");
        }
    }
    pci_host_free(&h);
}

void check_pci(const struct vm_profile *p, const struct check_options *opt, struct check_report *r)
{
    if (p->n_pci == 0) {
        check_add(r, "iommu", CHECK_PASS, "not needed: the profile passes no PCI device through");
        check_add(r, "vfio-pci", CHECK_PASS,
                  "not needed: the profile passes no PCI device through");
        return;
    }
    check_iommu(r);
    check_vfio(opt, r);
    check_devices(p, opt, r);
}
