/* Host USB devices that follow the VM's usb[] rules while it runs.
 *
 * At start (QEMU is up and paused, before its vCPUs run, so the guest
 * finds them at boot) every device plugged in that a rule takes is given
 * to QEMU; then, on every kernel uevent (sys/uevent.h), a device that
 * appears is given when a rule takes it, and one that goes away is
 * unplugged from the VM. `vmrun usb NAME attach|detach` does the same by
 * hand for a device no rule names (control.h carries the request).
 *
 * Giving a device, in order: the host must not be using it
 * (host/usb/usb_users.h: a mounted disk, the only keyboard and hubs are
 * refused with the reason); its node is opened by vmrun
 * (host/usb/usb_dev.h) and the change journaled (host/usb/usb_give.h);
 * QEMU gets the descriptor and plugs a usb-host device on it
 * (qemu/qemu_usb.h) with an id made of the rule and the port
 * ("usb0-1-4.2"; "usbm-1-4.2" by hand), so the same device at the same
 * port always has the same id. A device is settled when the kernel says
 * its driver core has bound it (the "bind" uevent: its configuration and
 * interfaces exist) and its node opens; a node that does not open yet is
 * tried again for a short while, and a device that went away in between
 * is said, never fatal.
 *
 * Taking a device back: device_del, then QEMU's DEVICE_DELETED event. A
 * device plugged in again before that event arrives is given once it has.
 * The first rule (in profile order) that takes a device decides its id; a
 * device is given to the VM once.
 *
 * What is in the VM is published in the runtime directory's usb.json for
 * `vmrun status`:
 *   {"usb": [{"id", "port", "bus", "device", "vendor", "product", "serial",
 *             "manufacturer", "name", "speed", "rule" (its index, or null
 *             when given by hand), "since" (seconds since the epoch)}]} */
#ifndef VMRUN_USB_HOTPLUG_H
#define VMRUN_USB_HOTPLUG_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "base/error.h"
#include "journal/journal.h"
#include "profile/profile.h"
#include "qmp.h"

#define USB_HOTPLUG_FILE "usb.json"

struct usb_hotplug_opts {
    const struct vm_profile *profile;
    struct qmp_client *qmp;  /* the supervisor's; borrowed */
    struct journal *journal; /* the VM's; borrowed */
    const char *runtime_dir; /* where usb.json goes */
    void (*say)(void *opaque, const char *msg);
    void *say_opaque;
};

struct usb_hotplug;

/* Whether the VM has a USB controller to plug devices into (the argv adds
 * one for a usb key or USB audio). */
bool usb_hotplug_wanted(const struct vm_profile *p);

/* Listen for uevents, then give QEMU every device plugged in now that a
 * rule takes. A device that cannot be given is said and skipped; an error
 * is returned only when uevents cannot be listened to (the rules would
 * then never follow a device). *out is NULL for a VM without a USB
 * controller. */
int usb_hotplug_start(const struct usb_hotplug_opts *o, struct usb_hotplug **out,
                      struct vmrun_error *err);

/* The fd to poll for POLLIN (the uevent socket), or -1. */
int usb_hotplug_fd(const struct usb_hotplug *h);

/* Milliseconds until usb_hotplug_run() has something due (a device to try
 * again, an unplug QEMU has not confirmed), or -1 for nothing. */
int usb_hotplug_timeout_ms(const struct usb_hotplug *h);

/* After poll(): read the uevents waiting and do what is due. */
void usb_hotplug_run(struct usb_hotplug *h);

/* A QMP event the supervisor drained: DEVICE_DELETED completes an
 * unplug. */
void usb_hotplug_qmp_event(struct usb_hotplug *h, const struct qmp_event *ev);

/* The VM runs (after `cont`): what QEMU could not let go of while it was
 * paused is let go of now (qemu/qemu_usb.h: qemu_usb_forget_fdset). */
void usb_hotplug_running(struct usb_hotplug *h);

/* QEMU's QMP connection is gone (QEMU is ending): nothing more is sent. */
void usb_hotplug_lost_qmp(struct usb_hotplug *h);

/* A request from `vmrun usb` (control.h):
 *   {"request": "usb", "action": "attach"|"detach", "device": SPEC,
 *    "force": bool}
 * SPEC: a port path ("1-4.2"), "VID:PID" (one device must have them), or
 * for detach the id vmrun gave. Returns {"ok": true, "message"} or
 * {"ok": false, "error"}; NULL when the request is not a USB one. h may
 * be NULL (a VM without a USB controller). */
cJSON *usb_hotplug_request(struct usb_hotplug *h, const cJSON *req);

/* Stop listening and free. Devices stay in QEMU until it ends. */
void usb_hotplug_free(struct usb_hotplug *h);

#endif
