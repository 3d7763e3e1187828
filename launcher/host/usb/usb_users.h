/* Is a USB device one the host itself uses? Read-only.
 *
 * A device given to the VM leaves the host at once: QEMU takes it from the
 * host's drivers. What vmrun refuses, and why:
 *   - a hub: QEMU passes devices, not hubs (name the device behind it);
 *   - a disk below it that is mounted or active swap: the host would lose
 *     data (unmount it first; nothing overrides this);
 *   - the host's only keyboard: every keyboard the host has (input devices
 *     of real hardware; software ones, such as uinput devices, do not count)
 *     is this device, and the host would be left without one (vmrun usb
 *     attach --force overrides it: a host run over SSH may not need one).
 * What is said but not refused: a network interface below it that is up
 * (the host loses that link; a USB network adapter is usually given to a
 * guest while the host's network manager has it up). */
#ifndef VMRUN_USB_USERS_H
#define VMRUN_USB_USERS_H

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"
#include "host/usb/usb_dev.h"

struct usb_host_use {
    bool refused;     /* the device must not be given to the VM */
    bool loses_data;  /* refused even with force */
    char why[1024];   /* what and why, without the device's name; "" when nothing */
    char note[512];   /* what giving it away costs the host, when it is allowed */
};

/* What the host uses the device for. force: only what loses data refuses.
 * 0 with out filled, or a negative errno when the host could not be read. */
int usb_find_host_use(const struct usb_dev *d, bool force, struct usb_host_use *out,
                      struct vmrun_error *err);

#endif
