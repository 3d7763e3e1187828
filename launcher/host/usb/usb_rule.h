/* Which host USB devices a usb[] rule (struct vm_usb, profile.h) takes.
 * Pure.
 *
 * A rule names a device by any of: vendor and product (and, optionally,
 * its serial number), the port it is plugged into, the class of the device
 * or of one of its interfaces. Every criterion a rule gives must hold.
 *
 * A port is a physical connector: a rule for "1-4" also takes a device at
 * that port's peer ("2-4", the SuperSpeed half of the same connector, where
 * a USB 3 device appears), and the other way round. */
#ifndef VMRUN_USB_RULE_H
#define VMRUN_USB_RULE_H

#include <stdbool.h>
#include <stddef.h>

#include "host/usb/usb_dev.h"
#include "profile/profile.h"

bool usb_rule_matches(const struct vm_usb *r, const struct usb_dev *d);

/* The first of n rules that d matches, or -1. */
int usb_rule_first_match(const struct vm_usb *rules, size_t n, const struct usb_dev *d);

/* "045e:02ea serial \"3\", port 1-2, class hid": for messages. */
void usb_rule_describe(const struct vm_usb *r, char *buf, size_t len);

#endif
