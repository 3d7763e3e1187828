/* `vmrun check`: the host side of each "bridge" and "tap" network (check.h):
 * the interface is there and of the right kind, and /dev/net/tun, through
 * which vmrun opens the tap, is the tun device. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "check/check.h"
#include "check/check_internal.h"
#include "host/net/tap.h"

static void check_one(struct check_report *r, const char *name, const char *ifname,
                      const char *want, const char *role)
{
    char kind[32];
    int e = net_if_kind(ifname, kind, sizeof(kind));
    struct check_item *it;
    if (e == -ENODEV) {
        it = check_add(r, name, CHECK_FAIL, "there is no network interface %s", ifname);
        if (strcmp(want, "bridge") == 0)
            check_hint(r, it,
                       "create the bridge (e.g. ip link add %s type bridge, or in the "
                       "host's network configuration), or change %s.bridge",
                       ifname, name);
        else
            check_hint(r, it,
                       "create the tap (e.g. ip tuntap add dev %s mode tap user USER), "
                       "or change %s.tap",
                       ifname, name);
    } else if (e < 0) {
        check_add(r, name, CHECK_WARN, "cannot tell what %s is: %s", ifname, strerror(-e));
    } else if (strcmp(kind, want) != 0) {
        it =
            check_add(r, name, CHECK_FAIL, "%s is not a %s (its driver is %s)", ifname, role, kind);
        check_hint(r, it, "name a %s in %s", role, name);
    } else if (strcmp(want, "bridge") == 0) {
        check_add(r, name, CHECK_PASS, "bridge %s: vmrun puts a tap of the VM on it", ifname);
    } else {
        check_add(r, name, CHECK_PASS, "tap %s: vmrun opens it for QEMU", ifname);
    }
}

void check_network(const struct vm_profile *p, struct check_report *r)
{
    bool taps = false;
    for (size_t i = 0; i < p->n_nets; i++) {
        const struct vm_net *n = &p->nets[i];
        char name[32];
        snprintf(name, sizeof(name), "network[%zu]", i);
        if (n->type == VM_NET_BRIDGE) {
            check_one(r, name, n->bridge, "bridge", "bridge");
            taps = true;
        } else if (n->type == VM_NET_TAP) {
            check_one(r, name, n->tap, "tun", "tap device");
            taps = true;
        }
    }
    if (!taps)
        return;
    struct stat st;
    if (stat("/dev/net/tun", &st) < 0) {
        struct check_item *it =
            check_add(r, "tun", CHECK_FAIL, "/dev/net/tun: %s", strerror(errno));
        check_hint(r, it, "load the tun module (modprobe tun)");
    } else if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != 10 || minor(st.st_rdev) != 200) {
        check_add(r, "tun", CHECK_FAIL, "/dev/net/tun is not the tun device (10:200)");
    } else {
        check_add(r, "tun", CHECK_PASS, "/dev/net/tun is the tun device");
    }
}
