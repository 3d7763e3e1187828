/* Giving a USB device to the VM, as the host sees it: the journal record
 * written before its node's descriptor goes to QEMU, and what undoing it
 * means.
 *
 * vmrun opens the node and QEMU receives the descriptor (qemu/qemu_usb.h);
 * QEMU then takes the device's interfaces from the host's drivers, and
 * gives them back when the device is unplugged from the VM or QEMU quits.
 * Nothing else changes on the host: the descriptors close with the
 * processes. Only a QEMU that dies (killed with its supervisor) never
 * gives the interfaces back, and the kernel does not rebind them by
 * itself; so undoing a record asks the kernel to probe drivers for the
 * interfaces of that device that have none. That is idempotent, harmless
 * where QEMU gave them back already, and skipped for a device that went
 * away or was plugged in again meanwhile (a new enumeration gets its
 * drivers from the kernel). */
#ifndef VMRUN_USB_GIVE_H
#define VMRUN_USB_GIVE_H

#include "base/error.h"
#include "host/usb/usb_dev.h"
#include "journal/journal.h"

/* Record that d is given to the VM as QEMU device id; journal_done() follows
 * once QEMU has it. */
int usb_give_record(struct journal *j, const struct usb_dev *d, const char *id,
                    struct vmrun_error *err);

/* Ask the kernel to bind drivers to the interfaces of d that have none
 * (when d is still the device at its port: the same bus and device
 * number, vendor and product). names gets the interfaces probed ("" for
 * none). 0, or a negative errno with err. */
int usb_give_back(const struct usb_dev *d, char *names, size_t len, struct vmrun_error *err);

extern const struct journal_op usb_journal_ops[];

#endif
