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
 *     is not persistent: it goes away with its last descriptor, when QEMU
 *     and vmrun have both let go, so a crash cannot leave it behind. It is
 *     journaled ("net-tap") before it is made; its undo has nothing left
 *     to do and says so.
 *   network[].type "tap": an existing tap interface (made by the user's
 *     network setup, e.g. `ip tuntap add dev tap0 mode tap`) is attached
 *     to; nothing on the host changes.
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

/* A descriptor of the existing tap interface name. */
int net_tap_attach(const char *name, const char *what, int *fd, struct vmrun_error *err);

/* What kind of interface name is, by its driver (ethtool's): "bridge",
 * "tun" (a tap), ... in kind. -ENODEV when there is no such interface in
 * vmrun's network namespace. Only reads. */
int net_if_kind(const char *name, char *kind, size_t len);

/* The journal op "net-tap" and its table (plan/undo.c). */
extern const struct journal_op net_journal_ops[];

#endif
