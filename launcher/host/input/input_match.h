/* Which of the host's input event nodes an input[] entry names.
 *
 * An entry names a physical device as users think of it, and all of its
 * event nodes are that one entry (a wireless receiver's keyboard, consumer
 * keys and mouse; a gaming mouse's three nodes):
 *
 *   device "046d:c52b"           the physical device with these vendor and
 *   device "046d:c52b:SERIAL"    product ids (and serial number): a USB
 *                                device's idVendor, idProduct and serial;
 *                                for a device that is not on USB (Bluetooth,
 *                                PS/2, a program's uinput device), the input
 *                                device's own ids and "uniq";
 *   device "/dev/input/by-id/…"  the physical device that event node is
 *                                part of (any path of an event node);
 *   evdev "/dev/input/by-id/…"   that one event node (the key profiles have
 *                                always had; /dev/input/eventN works too,
 *                                but its number changes when the device is
 *                                plugged in again: name it by id).
 *
 * "The physical device" of an event node is the USB device above it in
 * sysfs, or the input device itself when there is none. Nodes of vmrun's
 * own virtual devices (physical location "vmrun/...") never match.
 *
 * Paths are resolved the way root must (sys/safepath.h): a path someone
 * other than root could change is refused. Reads sysfs only. */
#ifndef VMRUN_INPUT_MATCH_H
#define VMRUN_INPUT_MATCH_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/error.h"
#include "host/input/input_caps.h"
#include "profile/profile.h"

/* One event node of the host, as sysfs describes it. */
struct input_node {
    char event[32];      /* "event5" */
    char node[PATH_MAX]; /* "/dev/input/event5" */
    dev_t rdev;
    char name[INPUT_NAME_MAX]; /* the input device's name */
    char phys[128];            /* its physical location ("usb-0000:00:14.0-2/input0") */
    /* The physical device: a sysfs path (the USB device, or the input
     * device), its ids and serial ("" for none). */
    char physdev[PATH_MAX];
    unsigned vendor, product;
    char serial[128];
};

struct input_nodes {
    struct input_node *items;
    size_t n;
};

/* Every event node the kernel has now. 0 or a negative errno. */
int input_nodes_scan(struct input_nodes *out, struct vmrun_error *err);
void input_nodes_free(struct input_nodes *l);

/* How an entry names its device (profile/profile.h's vm_input). */
struct input_spec {
    const char *path;  /* evdev, or device given as a path; NULL: by ids */
    bool whole_device; /* device: every node of the physical device */
    unsigned vendor, product;
    const char *serial; /* NULL: any */
    /* Only the nodes of this physical device (a sysfs path, as in
     * input_node.physdev); NULL: any. */
    const char *physdev;
};

/* How a profile's entry names its device. */
void input_spec_of(const struct vm_input *in, struct input_spec *s);

/* "046d:c52b", "046d:c52b:SERIAL", or a path: what the entry says, for
 * messages and as the key of what is remembered of it. */
void input_spec_describe(const struct input_spec *s, char *buf, size_t len);

/* The nodes of l that spec names: their indexes into idx (at most max),
 * their number in *n. 0 with *n = 0 when nothing matches now (a path that
 * does not exist yet, a device not plugged in); -EEXIST when two different
 * physical devices match, with err naming both; -EPERM for a path outside
 * root's control; another negative errno with err set when a path cannot
 * be looked at. */
int input_match(const struct input_spec *spec, const struct input_nodes *l, size_t *idx, size_t max,
                size_t *n, struct vmrun_error *err);

#endif
