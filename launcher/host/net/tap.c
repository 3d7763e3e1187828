/* Tap devices for the guest's network interfaces (tap.h). */
#include "host/net/tap.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "host/net/rtnl.h"
#include "journal/opargs.h"
#include "priv/priv_drop.h"

#define OP_TAP "net-tap"

/* The tun device: a character device of the misc driver, minor 200. */
static int open_tun(int *fd, struct vmrun_error *err)
{
    cleanup_close int f = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
    if (f < 0)
        return vmrun_fail(err, errno, "open /dev/net/tun (is the tun module loaded?)");
    struct stat st;
    if (fstat(f, &st) < 0 || !S_ISCHR(st.st_mode) || major(st.st_rdev) != 10 ||
        minor(st.st_rdev) != 200)
        return vmrun_failx(err, EINVAL, "/dev/net/tun is not the kernel's tun device");
    *fd = steal_fd(&f);
    return 0;
}

/* IFF_VNET_HDR: QEMU finds it on the descriptor and offloads checksums
 * and segmentation to the host through it, as with a tap it opens. */
static int set_iff(int tun, const char *name, struct ifreq *ifr)
{
    memset(ifr, 0, sizeof(*ifr));
    ifr->ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    snprintf(ifr->ifr_name, IFNAMSIZ, "%s", name);
    return ioctl(tun, TUNSETIFF, ifr) < 0 ? -errno : 0;
}

static int ifreq_ioctl(int sock, unsigned long req, const char *name, struct ifreq *ifr)
{
    snprintf(ifr->ifr_name, IFNAMSIZ, "%s", name);
    return ioctl(sock, req, ifr) < 0 ? -errno : 0;
}

int net_if_kind(const char *name, char *kind, size_t len)
{
    if (if_nametoindex(name) == 0)
        return -ENODEV;
    cleanup_close int sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0)
        return -errno;
    struct ethtool_drvinfo info = {.cmd = ETHTOOL_GDRVINFO};
    struct ifreq ifr = {.ifr_data = (char *)&info};
    int r = ifreq_ioctl(sock, SIOCETHTOOL, name, &ifr);
    if (r < 0)
        return r;
    snprintf(kind, len, "%.*s", (int)sizeof(info.driver), info.driver);
    return 0;
}

int net_tap_on_bridge(struct journal *j, const char *bridge, const char *what, int *fd,
                      char ifname[IFNAMSIZ], struct vmrun_error *err)
{
    *fd = -1;
    ifname[0] = '\0';
    char kind[32];
    int r = net_if_kind(bridge, kind, sizeof(kind));
    if (r == -ENODEV)
        return vmrun_failx(err, ENODEV, "%s: there is no network interface %s (the bridge)", what,
                           bridge);
    if (r == 0 && strcmp(kind, "bridge") != 0)
        return vmrun_failx(err, EINVAL, "%s: %s is not a bridge (its driver is %s)", what, bridge,
                           kind);
    cleanup_close int sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0)
        return vmrun_fail(err, errno, "socket");
    struct ifreq br = {0};
    r = ifreq_ioctl(sock, SIOCGIFMTU, bridge, &br);
    if (r < 0)
        return vmrun_fail(err, -r, "%s: read the MTU of %s", what, bridge);
    int mtu = br.ifr_mtu;

    cleanup_close int tun = -1;
    if ((r = open_tun(&tun, err)) < 0)
        return r;
    struct ifreq ifr;
    /* The kernel picks the number: vmrun0, vmrun1, ... */
    if ((r = set_iff(tun, "vmrun%d", &ifr)) < 0)
        return vmrun_fail(err, -r, "%s: create a tap device", what);
    snprintf(ifname, IFNAMSIZ, "%s", ifr.ifr_name);
    int ifindex = (int)if_nametoindex(ifname);
    if (ifindex == 0)
        return vmrun_fail(err, errno, "%s: find %s", what, ifname);

    /* Held by vmrun's descriptor alone so far: recorded before it joins
     * the bridge or reaches anyone else. */
    cJSON *args = cJSON_CreateObject();
    if (args == NULL)
        return vmrun_failx(err, ENOMEM, "out of memory");
    cJSON_AddStringToObject(args, "bridge", bridge);
    cJSON_AddStringToObject(args, "name", ifname);
    cJSON_AddNumberToObject(args, "ifindex", ifindex);
    cJSON_AddNumberToObject(args, "netns", (double)rtnl_netns_id());
    r = journal_record(j, OP_TAP, args, err);
    if (r < 0)
        return r;
    r = journal_done(j, err);
    if (r < 0)
        return r;

    struct ifreq t = {.ifr_mtu = mtu};
    if ((r = ifreq_ioctl(sock, SIOCSIFMTU, ifname, &t)) < 0)
        return vmrun_fail(err, -r, "%s: give %s the MTU of %s (%d)", what, ifname, bridge, mtu);
    struct ifreq add = {.ifr_ifindex = ifindex};
    if ((r = ifreq_ioctl(sock, SIOCBRADDIF, bridge, &add)) < 0)
        return vmrun_fail(err, -r, "%s: add %s to %s%s", what, ifname, bridge,
                          r == -EOPNOTSUPP || r == -EINVAL ? " (is it a bridge?)" : "");
    struct ifreq up = {0};
    if ((r = ifreq_ioctl(sock, SIOCGIFFLAGS, ifname, &up)) < 0)
        return vmrun_fail(err, -r, "%s: read the flags of %s", what, ifname);
    up.ifr_flags |= IFF_UP;
    if ((r = ifreq_ioctl(sock, SIOCSIFFLAGS, ifname, &up)) < 0)
        return vmrun_fail(err, -r, "%s: bring %s up", what, ifname);
    *fd = steal_fd(&tun);
    return 0;
}

/* Could t attach the tap l themselves (the kernel's rule for an existing
 * tap: its owner and group, when set, must be the user's)? */
static bool user_may_attach(const struct rtnl_link *l, const struct priv_target *t)
{
    if (l->has_owner && l->owner != t->uid)
        return false;
    if (!l->has_group || l->group == t->gid)
        return true;
    for (size_t i = 0; i < t->n_groups; i++)
        if (t->groups[i] == l->group)
            return true;
    return false;
}

int net_tap_attach(const char *name, const char *what, const struct priv_target *t, int *fd,
                   struct vmrun_error *err)
{
    *fd = -1;
    /* TUNSETIFF would make a new tap of a name that does not exist yet:
     * an existing interface is what the profile asks for. */
    struct rtnl_link l;
    int r = rtnl_link_get(0, name, &l);
    if (r == -ENODEV)
        return vmrun_failx(err, ENODEV,
                           "%s: there is no network interface %s (create the tap first, e.g. "
                           "ip tuntap add dev %s mode tap user NAME)",
                           what, name, name);
    if (r < 0)
        return vmrun_fail(err, -r, "%s: look at interface %s", what, name);
    if (strcmp(l.kind, "tun") != 0 || !l.tap)
        return vmrun_failx(err, EINVAL, "%s: %s is not a tap device (it is %s)", what, name,
                           l.kind[0] ? l.kind : "no tun or tap");
    cleanup_close int tun = -1;
    r = open_tun(&tun, err);
    if (r < 0)
        return r;
    struct ifreq ifr;
    if ((r = set_iff(tun, name, &ifr)) < 0)
        return vmrun_fail(err, -r, "%s: attach to %s%s", what, name,
                          r == -EBUSY    ? " (another program has it open)"
                          : r == -EINVAL ? " (is it a tap device?)"
                                         : "");
    /* Attached now: nobody else can attach it, hence nobody can change
     * its owner while it is looked at. */
    if (t != NULL && t->change) {
        if ((r = rtnl_link_get(l.ifindex, NULL, &l)) < 0)
            return vmrun_fail(err, -r, "%s: look at interface %s", what, name);
        if (!user_may_attach(&l, t)) {
            char whose[64];
            if (l.has_owner)
                snprintf(whose, sizeof(whose), "uid %u", (unsigned)l.owner);
            else
                snprintf(whose, sizeof(whose), "group %u", (unsigned)l.group);
            return vmrun_failx(err, EPERM,
                               "%s: the tap %s belongs to %s, and QEMU runs as %s, who could "
                               "not attach it themselves: use a tap of that user's (ip tuntap "
                               "add dev %s mode tap user %s)",
                               what, name, whose, t->user, name, t->user);
        }
    }
    *fd = steal_fd(&tun);
    return 0;
}

/* The tap vmrun made is deleted by its index, when that index still
 * names it (same name, a tun device) in the namespace it was made in:
 * whatever a holder of its descriptor made of it (persistent, owned by
 * them), and while they still hold it. A record without a name (an older
 * vmrun) has nothing to go by: its tap was not persistent when made. */
static int tap_undo(const cJSON *args, struct vmrun_error *err)
{
    if (oparg_string(args, "bridge") == NULL)
        return vmrun_failx(err, EINVAL, "malformed %s record", OP_TAP);
    const char *name = oparg_string(args, "name");
    long ifindex, netns = 0;
    if (name == NULL || oparg_long(args, "ifindex", 1, INT32_MAX, &ifindex) < 0)
        return 0;
    if (oparg_long(args, "netns", 0, LONG_MAX, &netns) == 0 && netns != 0 &&
        (unsigned long)netns != rtnl_netns_id())
        return vmrun_failx(err, EXDEV,
                           "the tap %s is in another network namespace than this vmrun; run "
                           "'vmrun recover' there",
                           name);
    struct rtnl_link l;
    int r = rtnl_link_get((int)ifindex, NULL, &l);
    if (r == -ENODEV)
        return 0; /* gone with its last descriptor */
    if (r < 0)
        return vmrun_fail(err, -r, "look at the tap %s", name);
    if (strcmp(l.name, name) != 0 || strcmp(l.kind, "tun") != 0)
        return 0; /* the index names another interface now: not ours */
    r = rtnl_link_delete((int)ifindex);
    if (r < 0 && r != -ENODEV)
        return vmrun_fail(err, -r, "delete the tap %s", name);
    return 0;
}

static void tap_describe(const cJSON *args, char *buf, size_t len)
{
    const char *bridge = oparg_string(args, "bridge");
    const char *name = oparg_string(args, "name");
    snprintf(buf, len, "delete the tap %s on bridge %s", name != NULL ? name : "(unnamed)",
             bridge != NULL ? bridge : "(malformed record)");
}

const struct journal_op net_journal_ops[] = {
    {OP_TAP, tap_undo, tap_describe},
    {NULL, NULL, NULL},
};
