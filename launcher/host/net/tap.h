/* The guest's network interfaces on the host: tap devices, opened by vmrun
 * (root) and handed to QEMU as file descriptors.
 *
 * QEMU never opens /dev/net/tun itself, and never runs qemu-bridge-helper:
 * it runs as the user who called vmrun, with no_new_privs (priv_drop.h),
 * under which neither a set-uid helper nor the tun device (root's, 0600 on
 * many hosts) would work.
 *
 *   network[].type "bridge": vmrun creates a tap ("vmrunN"), gives it the
 *     bridge's MTU, makes it a port of the bridge and brings it up. The tap
 *     is made not persistent, but QEMU's user holds its descriptor (they
 *     may take it from their QEMU with pidfd_getfd) and a descriptor may
 *     make it persistent and give it an owner (TUNSETPERSIST,
 *     TUNSETOWNER): so the undo deletes it, by its index and name, whatever
 *     it has become and whoever still holds it. It is journaled ("net-tap":
 *     the bridge, its name and index, the network namespace) right after
 *     it is made and before it joins the bridge or reaches QEMU: until
 *     then only vmrun's own descriptor holds it, and it goes with that.
 *   network[].type "tap": an existing tap interface (made by the user's
 *     network setup, e.g. `ip tuntap add dev tap0 mode tap user NAME`) is
 *     attached to; nothing on the host changes. Root may attach any tap,
 *     so vmrun checks, while it holds the tap attached (so nobody can
 *     change it meanwhile), that QEMU's user could attach it themselves:
 *     a tap whose owner or group (TUNSETOWNER, TUNSETGROUP) is someone
 *     else's is refused, as the kernel would refuse that user.
 *
 * The bridge and tap names come from the profile, which root trusts
 * (README, "Security model"). */
#ifndef VMRUN_HOST_NET_TAP_H
#define VMRUN_HOST_NET_TAP_H

#include <net/if.h>
#include <stddef.h>

#include "base/error.h"
#include "journal/journal.h"

/* A new tap on bridge: its descriptor in *fd, its name in ifname. what
 * names the profile entry in messages ("network[0]"). */
int net_tap_on_bridge(struct journal *j, const char *bridge, const char *what, int *fd,
                      char ifname[IFNAMSIZ], struct vmrun_error *err);

/* A descriptor of the existing tap interface name, for QEMU running as t
 * (NULL, or t->change false: as vmrun itself, which may use any tap). */
struct priv_target;
int net_tap_attach(const char *name, const char *what, const struct priv_target *t, int *fd,
                   struct vmrun_error *err);

/* What kind of interface name is, by its driver (ethtool's): "bridge",
 * "tun" (a tap), ... in kind. -ENODEV when there is no such interface in
 * vmrun's network namespace. Only reads. */
int net_if_kind(const char *name, char *kind, size_t len);

/* The journal op "net-tap" and its table (plan/undo.c). */
extern const struct journal_op net_journal_ops[];

#endif
