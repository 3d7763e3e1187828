/* The VM's keyboards and mice (input[] in a profile): a virtual device for
 * QEMU that outlives unplugging, hot-plug, a hotkey between host and
 * guest, the guest's LEDs on the keyboard, and nothing left grabbed or
 * stuck whatever happens.
 *
 * For each entry vmrun makes a virtual input device (uinput_dev.h) with
 * the capabilities of the entry's physical device (input_caps.h), before
 * QEMU starts, and QEMU reads that (`-object input-linux`): QEMU never sees
 * the physical device come and go. The physical devices (input_match.h:
 * a by-id path or vendor:product[:serial], every event node of one
 * device) are opened by root, passed to the process that moves events
 * (input_mover.h, uid 0 without capabilities, seccomp), and followed
 * through the kernel's uevents (sys/uevent.h): a device plugged in again
 * is opened again; a node that is not there yet or not yet openable
 * (ENOENT, EACCES: udev makes links and applies permissions after the
 * kernel's event) is retried with a growing delay for 10 s.
 *
 * How QEMU gets the virtual device, and why it is safe. QEMU's input-linux
 * opens a path with plain open() (no fd, no fdset), so QEMU's user must be
 * able to open the node for QEMU's start. Events injected into a keyboard
 * device (write() on its node) reach the host's consoles (the VT keyboard,
 * SysRq) unless someone holds the device's grab, so what may reach that
 * node must be bounded:
 *   1. the device is made inhibited: nothing written or injected into it
 *      goes anywhere;
 *   2. its node is handed to QEMU's user (journaled) and QEMU gets it as
 *      /proc/self/fd/N of an O_PATH descriptor vmrun opened; QEMU opens it
 *      at start and takes the grab (EVIOCGRAB) as input-linux always does;
 *   3. once QEMU answers on QMP the node is root's again (nobody else can
 *      open it from then on), vmrun takes a copy of QEMU's own open file of
 *      it (pidfd_getfd) and checks that this file holds the grab: the copy
 *      keeps the grab alive even if QEMU dies, and a seccomp filter
 *      installed in QEMU (priv/seccomp.h) keeps QEMU from letting it go
 *      (EVIOCGRAB 0, EVIOCREVOKE). So for the VM's whole life every event
 *      of the device goes to QEMU alone, and anything anyone writes into
 *      it through another descriptor (one opened during the start, the
 *      desktop's) is dropped by the kernel;
 *   4. only then is it let go (uninhibited).
 * QEMU's own grab-toggle hotkey cannot take the grab away either (its
 * ungrab fails): vmrun's hotkey moves input instead, by grabbing and
 * letting go of the physical devices.
 *
 * The guest's LEDs (QEMU sends them to no QMP client, and input-linux
 * writes none back) come over a VNC client connection of vmrun's own
 * (vnc_led.h), which the mover turns into EV_LED on the physical keyboards
 * while the guest has input; the host's own LEDs come back when it gets
 * input back. A QEMU without VNC gets no LED channel (said at start).
 *
 * A crash leaves nothing behind: the grabs belong to the descriptors of
 * the supervisor and the mover, and the virtual devices to their uinput
 * descriptors, so the kernel ends all of it when they die (the mover dies
 * with the supervisor). The journal records the mover ("input-mover"),
 * and `vmrun recover` makes sure no mover of the VM still runs and that
 * no virtual device of the VM is left.
 *
 * Input starts on the guest's side, as with QEMU's input-linux. */
#ifndef VMRUN_INPUT_H
#define VMRUN_INPUT_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/error.h"
#include "journal/journal.h"
#include "journal/step.h"
#include "profile/profile.h"

struct input_host;

/* Before anything on the host changes: find each entry's device now. An
 * entry that matches nothing is a warning (through say; the device may be
 * plugged in later), or an error when it is "required"; one that matches
 * two different devices is an error naming both. Also checks that the
 * host can make and inhibit virtual devices. *out is NULL for a profile
 * without input. 0 or a negative errno with err set. */
int input_host_check(const struct vm_profile *p, struct input_host **out,
                     void (*say)(void *opaque, const char *msg), void *say_opaque,
                     struct vmrun_error *err);

/* Make the virtual devices (from the capabilities of the devices present,
 * or remembered in state_dir, or generic), start the mover (journaled),
 * and hand the virtual nodes to QEMU's user (hp->qemu_uid, journaled). */
int input_host_prepare(struct input_host *ih, struct host_prep *hp, const char *state_dir,
                       struct vmrun_error *err);

/* The descriptor QEMU opens entry i's virtual device through (O_PATH;
 * the caller takes it over, for QEMU's inherited fds). */
int input_host_qemu_fd(struct input_host *ih, size_t i);

/* QEMU (pid) has started and answered on QMP: give the nodes back to
 * root, keep QEMU's grab (above), let events through. untrusted: QEMU
 * runs as another user, so a grab vmrun cannot keep is an error. */
int input_host_qemu_started(struct input_host *ih, pid_t qemu, bool untrusted,
                            struct vmrun_error *err);

/* A socket pair for the LEDs: the mover gets one end; *qemu_end is for
 * QEMU (QMP getfd, then add_client protocol=vnc skipauth=true). */
int input_host_led_channel(struct input_host *ih, int *qemu_end, struct vmrun_error *err);

/* Open the physical devices present, watch for more, and give input to
 * the guest. */
int input_host_start(struct input_host *ih, struct vmrun_error *err);

/* The supervisor's loop: descriptors to poll (at most max), the time until
 * the next retry (-1: none), and what they said. input_host_dispatch()
 * returns true when the status (input_host_status_json) changed. */
size_t input_host_pollfds(struct input_host *ih, struct pollfd *pfd, size_t max);
int input_host_timeout_ms(const struct input_host *ih);
bool input_host_dispatch(struct input_host *ih, const struct pollfd *pfd, size_t n);

/* A child died (SIGCHLD): if it was the mover, input stays with the host
 * for the rest of the run (said, and the status changes: true). */
bool input_host_reap(struct input_host *ih);

/* `vmrun input NAME host|guest|toggle`: what is "host", "guest" or
 * "toggle". Waits (at most a second or two) for the mover to say where
 * input is now: 0 with *side ("host" or "guest"), or a negative errno
 * with err set. */
int input_host_set_side(struct input_host *ih, const char *what, const char **side,
                        struct vmrun_error *err);

/* What `vmrun status` shows: {"side", "leds", "leds_follow_guest",
 * "devices": [{"input", "match", "required", "virtual", "attached":
 * [{"node", "name"}]}]}. The caller frees. */
char *input_host_status_json(const struct input_host *ih);
#define INPUT_STATUS_FILE "input.json"

/* Give everything back: the mover releases what the guest holds, lets the
 * devices go and exits; the virtual devices and QEMU's grab end. Safe on
 * a half-prepared ih; frees it. */
void input_host_stop(struct input_host *ih);

/* A line for the user, through the say callback input_host_check() got. */
void input_host_say(const struct input_host *ih, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The journal ops "input" and "input-mover" (plan/undo.c). */
extern const struct journal_op input_journal_ops[];

#endif
