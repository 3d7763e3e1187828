/* Network interfaces as the kernel's routing netlink (rtnetlink) reports
 * them, in vmrun's own network namespace: what kind an interface is, who
 * owns a tap, and removing one interface by its index.
 *
 * Netlink, not sysfs: /sys/class/net shows the namespace sysfs was mounted
 * in, which need not be vmrun's (`unshare -n` keeps the old one). */
#ifndef VMRUN_HOST_NET_RTNL_H
#define VMRUN_HOST_NET_RTNL_H

#include <net/if.h>
#include <stdbool.h>
#include <sys/types.h>

struct rtnl_link {
    int ifindex;
    char name[IFNAMSIZ];
    char kind[32]; /* IFLA_INFO_KIND: "tun", "bridge", ...; "" when none */
    /* For kind "tun" (its IFLA_INFO_DATA): */
    bool tap;          /* a tap (not a tun) */
    bool persist;      /* outlives its last descriptor */
    bool has_owner;    /* TUNSETOWNER was given */
    uid_t owner;
    bool has_group;    /* TUNSETGROUP was given */
    gid_t group;
};

/* The interface ifindex (> 0) or, with ifindex 0, the one called name.
 * 0 with *out filled; -ENODEV when there is none; another negative errno
 * when netlink fails. */
int rtnl_link_get(int ifindex, const char *name, struct rtnl_link *out);

/* Remove the interface ifindex (RTM_DELLINK). A tap goes even while
 * descriptors to it are open: they are detached. 0, -ENODEV when it was
 * gone already, or another negative errno. */
int rtnl_link_delete(int ifindex);

/* The inode of vmrun's network namespace (/proc/self/ns/net), 0 when it
 * cannot be read: a journal record names the namespace its interface is
 * in. */
unsigned long rtnl_netns_id(void);

#endif
