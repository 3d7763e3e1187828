/* The virtual input device vmrun makes for each input[] entry (uinput),
 * which QEMU reads instead of the physical device.
 *
 * It is made by root from /dev/uinput with the capabilities of the entry's
 * physical device (input_caps.h), named "vmrun <physical name>" with the
 * physical location "vmrun/VM/inputN" (how `vmrun recover` knows a VM's
 * devices), and lives exactly as long as its /dev/uinput descriptor (and
 * the copies of it) stays open: when vmrun's processes end, however they
 * end, the kernel removes it.
 *
 * It is made inhibited (the kernel's "inhibited" attribute, Linux 5.11):
 * every event, written through uinput or injected through its event node
 * by anyone, is dropped until vmrun lets it go, once QEMU holds it
 * (host/input/input.h says why). */
#ifndef VMRUN_UINPUT_DEV_H
#define VMRUN_UINPUT_DEV_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#include "base/error.h"
#include "host/input/input_caps.h"

struct uinput_dev {
    int fd;              /* /dev/uinput, the device's life; -1 when none */
    char sysname[32];    /* "input12": /sys/devices/virtual/input/input12 */
    char node[PATH_MAX]; /* its event node, "/dev/input/event7" */
    dev_t rdev;
};

/* The physical location every virtual device of VM vm carries. */
int uinput_phys(char *buf, size_t len, const char *vm, size_t entry);

/* Make the device from caps (input_caps_for_virtual() is applied), inhibit
 * it, and find its event node. 0, or a negative errno with err set (no
 * /dev/uinput: "modprobe uinput"). On failure nothing is left. */
int uinput_create(const struct input_caps *caps, const char *phys, struct uinput_dev *out,
                  struct vmrun_error *err);

/* Let events through (false), or drop them again (true). */
int uinput_inhibit(const struct uinput_dev *d, bool on, struct vmrun_error *err);

/* Close the descriptor: the device goes away with the last copy. */
void uinput_close(struct uinput_dev *d);

/* The virtual devices of VM vm that exist now, by sysfs name, into
 * names[max] (each up to 32 bytes). Their number, or a negative errno. */
int uinput_find_leftovers(const char *vm, char (*names)[32], size_t max);

#endif
