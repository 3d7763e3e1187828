/* usb[] rules against host USB devices (usb_rule.h). */
#include "host/usb/usb_rule.h"

#include <stdio.h>
#include <string.h>

#include "base/text.h"

bool usb_rule_matches(const struct vm_usb *r, const struct usb_dev *d)
{
    if (r->ids && (d->vendor != r->vendor || d->product != r->product))
        return false;
    if (r->serial != NULL && strcmp(d->serial, r->serial) != 0)
        return false;
    if (r->port != NULL && strcmp(d->port, r->port) != 0 &&
        (d->peer[0] == '\0' || strcmp(d->peer, r->port) != 0))
        return false;
    if (r->class_code >= 0 && !usb_dev_has_class(d, (unsigned)r->class_code))
        return false;
    return true;
}

int usb_rule_first_match(const struct vm_usb *rules, size_t n, const struct usb_dev *d)
{
    for (size_t i = 0; i < n; i++)
        if (usb_rule_matches(&rules[i], d))
            return (int)i;
    return -1;
}

void usb_rule_describe(const struct vm_usb *r, char *buf, size_t len)
{
    buf[0] = '\0';
    if (r->ids)
        text_append(buf, len, "%04x:%04x", r->vendor, r->product);
    if (r->serial != NULL)
        text_append(buf, len, "%sserial \"%s\"", buf[0] ? " " : "", r->serial);
    if (r->port != NULL)
        text_append(buf, len, "%sport %s", buf[0] ? ", " : "", r->port);
    if (r->class_code >= 0) {
        const char *name = profile_usb_class_name(r->class_code);
        if (name != NULL)
            text_append(buf, len, "%sclass %s", buf[0] ? ", " : "", name);
        else
            text_append(buf, len, "%sclass 0x%02x", buf[0] ? ", " : "", (unsigned)r->class_code);
    }
}
