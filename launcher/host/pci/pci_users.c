#include "host/pci/pci_users.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "sys/dev_users.h"
#include "sys/hostpath.h"

int pci_find_holders(const struct pci_dev_info *d, struct dev_holders *out, struct vmrun_error *err)
{
    return devnodes_find_holders(d->address, d->driver, d->iommu_group, out, err);
}

/* ---- users of other kinds ---- */

static struct pci_user *user_add(struct pci_users *u, enum pci_use kind, bool loses_data)
{
    if (u->n == PCI_USERS_MAX)
        return NULL;
    struct pci_user *x = &u->items[u->n++];
    x->kind = kind;
    x->loses_data = loses_data;
    x->msg[0] = '\0';
    return x;
}

static int storage_users(const char *devdir, struct pci_users *out, struct vmrun_error *err)
{
    char found[768];
    int r = dev_users_storage(devdir, found, sizeof(found), err);
    if (r < 0 || found[0] == '\0')
        return r;
    struct pci_user *u = user_add(out, PCI_USE_STORAGE, true);
    if (u != NULL)
        snprintf(u->msg, sizeof(u->msg),
                 "it is a storage controller in use: %s. Taking it would lose data; unmount "
                 "and swapoff first (--force does not override this)",
                 found);
    return 0;
}

static int network_users(const char *devdir, struct pci_users *out, struct vmrun_error *err)
{
    char up[512];
    int r = dev_users_network(devdir, up, sizeof(up), err);
    if (r < 0 || up[0] == '\0')
        return r;
    struct pci_user *u = user_add(out, PCI_USE_NETWORK, false);
    if (u != NULL)
        snprintf(u->msg, sizeof(u->msg),
                 "its network interface %s is up: the host loses that connection (a remote "
                 "session over it drops); take it down first (ip link set dev NAME down) or "
                 "use --force",
                 up);
    return 0;
}

int pci_find_users(const struct pci_dev_info *d, bool handoff, struct pci_users *out,
                   struct vmrun_error *err)
{
    out->n = 0;
    char path[PATH_MAX], devdir[PATH_MAX];
    if (host_path(path, sizeof(path), HOST_SYS, "/bus/pci/devices/%s", d->address) < 0)
        return vmrun_failx(err, ENAMETOOLONG, "sysfs root too long");
    if (realpath(path, devdir) == NULL)
        return vmrun_fail(err, errno, "%s", path);

    /* With handoff, the display step takes the console and the
     * desktop's hold on the GPU away first, and refuses other holders
     * itself. */
    bool display_handoff = handoff && (d->class_code >> 8) == 0x03;
    struct dev_holders h;
    int r = pci_find_holders(d, &h, err);
    if (r < 0)
        return r;
    if (h.n > 0 && !display_handoff) {
        struct pci_user *u = user_add(out, PCI_USE_PROCESSES, false);
        if (u != NULL) {
            char who[700];
            devnodes_holders_describe(&h, who, sizeof(who));
            snprintf(u->msg, sizeof(u->msg),
                     "it is in use: %s. Stop them first (or use --force: the unbind then waits "
                     "for them and times out)",
                     who);
        }
    }
    devnodes_holders_free(&h);

    if (d->boot_vga && (d->class_code >> 8) == 0x03 && !display_handoff) {
        struct pci_user *u = user_add(out, PCI_USE_CONSOLE, false);
        if (u != NULL)
            snprintf(u->msg, sizeof(u->msg),
                     "it is the boot VGA device and shows the host's console: the host display "
                     "goes dark (use --force if the host is run headless or over SSH)");
    }
    if ((r = storage_users(devdir, out, err)) < 0)
        return r;
    if ((r = network_users(devdir, out, err)) < 0)
        return r;
    return 0;
}
