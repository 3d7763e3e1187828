/* Host USB devices in a running QEMU, plugged in and out over QMP.
 *
 * QEMU runs as an ordinary user in a seccomp sandbox: it cannot open a
 * /dev/bus/usb node itself, and its own re-attach by vendor and product
 * cannot work after a replug. So vmrun opens the node (host/usb/usb_dev.h)
 * and QEMU gets the descriptor:
 *
 *   add-fd            the descriptor travels with the command (SCM_RIGHTS
 *                     over the QMP socket QEMU inherited) into a new fd set;
 *   device_add        usb-host,id=ID,bus=xhci.0,hostdevice=/dev/fdset/N:
 *                     QEMU opens /dev/fdset/N, which duplicates the
 *                     descriptor (usb-host has taken a path since QEMU 5.1,
 *                     and qemu_open() turns /dev/fdset/N into the set's
 *                     descriptor);
 *   remove-fd         the set goes; QEMU's device keeps its duplicate (a
 *                     set removed while the VM is paused is removed again
 *                     once it runs: qemu_usb_forget_fdset()).
 *
 * Unplugging is device_del, and QEMU says it is done with a DEVICE_DELETED
 * event naming the id; the device's duplicate closes then.
 *
 * What the QEMU that runs can do is asked, never deduced from its
 * version: `-device usb-host,help` must list the hostdevice property (QEMU
 * built with libusb 1.0.23 or later on Linux). */
#ifndef VMRUN_QEMU_USB_H
#define VMRUN_QEMU_USB_H

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"

/* qmp.h: the argv builder includes this header for the controller's
 * name alone, without the QMP library. */
struct qmp_client;
struct qmp_event;

/* The xHCI controller the argv adds (cmdline_build.c), and its ports: the
 * most QEMU's qemu-xhci has, 15 USB 2 and 15 USB 3 ports over 15 device
 * slots, each of which takes a device of any speed. */
#define QEMU_USB_CONTROLLER_ID "xhci"
#define QEMU_USB_BUS "xhci.0"
#define QEMU_USB_PORTS 15

/* An id QEMU accepts and `vmrun status` shows, stable for a rule and a
 * port: "usb0-1-4.2" for usb[0]'s device at port 1-4.2; rule < 0 (given by
 * hand): "usbm-1-4.2". */
void qemu_usb_id(char *buf, size_t len, int rule, const char *port);

/* Can binary attach a host USB device by descriptor? 1 yes; 0 no, with
 * what is missing in missing; a negative errno (err set) when the binary
 * could not be asked (it did not answer in time: a loaded host). One short
 * exec of the binary; `vmrun check` and the start's preflight ask this. */
int qemu_usb_probe(const char *binary, char *missing, size_t len, struct vmrun_error *err);

/* The same, asked of a running QEMU (device-list-properties of usb-host):
 * what the supervisor goes by. */
int qemu_usb_probe_qmp(struct qmp_client *q, char *missing, size_t len, struct vmrun_error *err);

/* Hand QEMU fd (a device node vmrun opened; it stays vmrun's, to close)
 * and plug a usb-host device with id on it. *fdset (when not NULL) gets the
 * fd set used, or -1. 0, or a negative errno with err saying what QEMU
 * refused. */
int qemu_usb_plug(struct qmp_client *q, int fd, const char *id, long *fdset,
                  struct vmrun_error *err);

/* remove-fd of an fd set again. QEMU before 9.1 closes a removed
 * descriptor only while the VM runs: a set removed while it was paused
 * (the devices given before the guest starts) keeps QEMU's original
 * descriptor open until its set is removed once more, after `cont`. An
 * error (a QEMU that closed it at once no longer has the set) is
 * ignored. */
void qemu_usb_forget_fdset(struct qmp_client *q, long fdset);

/* Ask QEMU to unplug device id: 0 when asked (DEVICE_DELETED follows), 1
 * when QEMU has no such device (it is gone already), or a negative errno
 * with err. */
int qemu_usb_unplug(struct qmp_client *q, const char *id, struct vmrun_error *err);

/* The id a DEVICE_DELETED event names, or NULL when ev is another event or
 * names none. */
const char *qemu_usb_deleted(const struct qmp_event *ev);

#endif
