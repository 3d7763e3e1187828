/* Which host USB devices a usb[] rule takes. Pure.
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

struct usb_rule {
    bool ids; /* vendor and product are criteria */
    unsigned vendor, product;
    const char *serial; /* NULL: any */
    const char *port;   /* NULL: any */
    int class_code;     /* -1: any */
};

/* The rule a profile's usb[] entry gives. */
void usb_rule_from_profile(const struct vm_usb *u, struct usb_rule *out);

bool usb_rule_matches(const struct usb_rule *r, const struct usb_dev *d);

/* The first of n rules that d matches, or -1. */
int usb_rule_first_match(const struct usb_rule *rules, size_t n, const struct usb_dev *d);

/* "046d:c52b serial 1234, port 1-4, class 0x03": for messages. */
void usb_rule_describe(const struct usb_rule *r, char *buf, size_t len);

#endif
