/* The supervisor's part in the VM's input devices (host/input/input.h):
 * when each step happens in a VM's life, what QEMU is given, the LED
 * channel over QMP, the file `vmrun status` reads in the runtime directory:
 *
 *   input.json     the status (input_host_status_json), rewritten when
 *                  it changes
 * and `vmrun input` asks on the request channel (control.h):
 *   {"request": "input", "side": "host" | "guest" | "toggle"}
 *   -> {"ok": true, "side": "host" | "guest", "message": ...} */
#ifndef VMRUN_VM_INPUT_H
#define VMRUN_VM_INPUT_H

#include <stdbool.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "base/error.h"
#include "host/input/input.h"
#include "priv/priv_drop.h"
#include "qemu/cmdline.h"
#include "qemu/qemu_fds.h"
#include "qmp.h"
#include "supervisor/runtime.h"

/* Before QEMU is built: the virtual devices and the mover
 * (input_host_prepare), the descriptors QEMU inherits for them, in the
 * order the argv names them, and whether this QEMU has VNC for the LEDs
 * (qemu_exe is asked). Nothing to do when ih is NULL. */
int vm_input_prepare(struct input_host *ih, struct host_prep *hp, const char *qemu_exe,
                     struct vm_host_facts *facts, struct qemu_fds *fds, struct vmrun_error *err);

/* QEMU answers on QMP: the devices are QEMU's alone from now on
 * (input_host_qemu_started), and the LED channel is opened (a failure
 * there is only said). */
int vm_input_qemu_started(struct input_host *ih, pid_t qemu, const struct priv_target *t, bool leds,
                          struct qmp_client *qmp, struct vmrun_error *err);

/* The VM runs: input goes to the guest, the status is published. */
void vm_input_running(struct input_host *ih, const struct vm_runtime *rt);

/* A request on the channel: the reply for an "input" request, NULL for
 * any other. */
cJSON *vm_input_request(struct input_host *ih, const struct vm_runtime *rt, const cJSON *req);

/* Rewrite input.json. */
void vm_input_publish(const struct input_host *ih, const struct vm_runtime *rt);

#endif
