/* Kernel uevents: devices appearing and going away while a VM runs.
 *
 * vmrun listens on the kernel's own netlink multicast group
 * (NETLINK_KOBJECT_UEVENT, group 1), not on udevd's: a host without udevd
 * (a minimal server, the test lab) still gets events, and nothing but the
 * kernel can send there. A message counts only when the kernel sent it
 * (sender port 0 and credentials of uid 0, checked on every message): a
 * local user cannot make vmrun believe a device came or went.
 *
 * The kernel sends the event before udevd has made or fixed the device
 * node, so a caller that needs the node treats an "add" as "look now and
 * retry for a while": a device is settled when its node exists and opens.
 *
 * Events are lost when the socket's buffer overflows (a burst of events
 * while vmrun is busy): uevent_read() then returns -ENOBUFS once, and the
 * caller rescans what it watches (sysfs) instead of trusting its picture. */
#ifndef VMRUN_UEVENT_H
#define VMRUN_UEVENT_H

#include <stddef.h>

#include "base/error.h"

/* The kernel builds an event in a 2048-byte environment plus the
 * "ACTION@DEVPATH" header; a message longer than this is not the kernel's. */
#define UEVENT_BUFFER_SIZE 8192
#define UEVENT_MAX_VARS 64

struct uevent {
    const char *action;        /* "add", "remove", "change", "bind", "unbind", "move", ... */
    const char *devpath;       /* "/devices/..." (relative to /sys) */
    const char *subsystem;     /* "input", "usb", ... or NULL */
    const char *devname;       /* "input/event3", "bus/usb/001/004" (relative to /dev) or NULL */
    const char *devtype;       /* "usb_device", "usb_interface", ... or NULL */
    int major, minor;          /* -1 when absent */
    unsigned long long seqnum; /* 0 when absent */
    size_t nvars;
    const char *key[UEVENT_MAX_VARS]; /* every KEY=VALUE of the message, in order */
    const char *value[UEVENT_MAX_VARS];
    char buf[UEVENT_BUFFER_SIZE]; /* a copy of the message: every pointer above points into it */
};

/* Parse one kernel message ("ACTION@DEVPATH\0KEY=VALUE\0..."). Pure.
 * Returns 0, or -EINVAL for anything that is not a well-formed kernel
 * uevent (no header, no ACTION or DEVPATH, a header that disagrees with
 * them, a line without '=', a non-numeric MAJOR/MINOR/SEQNUM, more than
 * UEVENT_MAX_VARS variables, longer than UEVENT_BUFFER_SIZE - 1). */
int uevent_parse(const void *msg, size_t len, struct uevent *out);

/* The value of KEY in ev, or NULL. */
const char *uevent_get(const struct uevent *ev, const char *key);

/* A socket on the kernel's uevent group: SOCK_CLOEXEC | SOCK_NONBLOCK,
 * credentials passed with every message, a receive buffer of 4 MiB where
 * root may force one. Returns the fd or a negative errno. */
int uevent_open(struct vmrun_error *err);

/* Read one message from a uevent_open() socket without blocking.
 * Returns 1 when *out holds an event; 0 when there is nothing to read now
 * or the message read was not the kernel's or not well formed (dropped:
 * read again); -ENOBUFS when the socket overflowed and events were lost
 * (rescan); another negative errno on error (err says why). */
int uevent_read(int fd, struct uevent *out, struct vmrun_error *err);

#endif
