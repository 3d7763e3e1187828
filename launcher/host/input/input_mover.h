/* The process that moves input events: from the physical devices to the
 * VM's virtual devices, the guest's LEDs back to the keyboards, and the
 * hotkey that moves input between host and guest (input_route.h).
 *
 * It is forked by the supervisor (root) and, before it reads anything,
 * gives up all it does not need: it closes every descriptor but those it
 * was given, takes no_new_privs, clears every capability (the bounding set
 * included) while keeping uid 0, and installs a seccomp allow-list
 * (priv/seccomp.h): read, write, poll, recvmsg/sendmsg on its control
 * socket, close, and the evdev ioctls it uses (grab, key and LED state);
 * no open, no exec, no socket, no kill, no uinput ioctl (it cannot make or
 * destroy a device: it only writes events into the ones it was given).
 *
 * Why uid 0 without capabilities rather than QEMU's user: that user may
 * trace and signal their own processes, and the mover holds /dev/uinput
 * descriptors and the physical keyboards, which must never be theirs (a
 * uinput descriptor could make a keyboard that types into a root console).
 * A process of uid 0 is beyond their reach; without capabilities and
 * behind the allow-list it can do nothing with that uid.
 *
 * It dies with the supervisor (PR_SET_PDEATHSIG), and with it every
 * descriptor it holds: the grabs on the physical devices end and the
 * kernel removes the virtual devices once the supervisor's copies are gone
 * too. What it reads from QEMU (the VNC conversation for the LEDs,
 * vnc_led.h) is parsed as untrusted, with every length bounded.
 *
 * It talks with the supervisor over a SOCK_SEQPACKET socket pair, one
 * struct input_msg per message, descriptors passed with SCM_RIGHTS.
 *
 * It measures what it adds: for each frame passed to the guest, the time
 * from the kernel's timestamp of its first event (CLOCK_MONOTONIC, asked
 * of every source) to the moment it writes the frame into the virtual
 * device, in a histogram of microseconds; and the times a source's buffer
 * overflowed (SYN_DROPPED: events lost before the mover read them). QEMU
 * reads the virtual device as it would have read the physical one, so
 * this is the latency vmrun adds. `vmrun status` shows it. */
#ifndef VMRUN_INPUT_MOVER_H
#define VMRUN_INPUT_MOVER_H

#include <stdint.h>
#include <sys/types.h>

#include "base/error.h"
#include "host/input/input_route.h"

enum input_msg_type {
    /* supervisor -> mover */
    IMSG_ATTACH = 1, /* + fd: a physical event node of entry, as source */
    IMSG_DETACH,     /* source: let it go */
    IMSG_SIDE,       /* value: ROUTE_HOST, ROUTE_GUEST, or IMSG_TOGGLE */
    IMSG_LEDS,       /* + fd: the VNC socket to QEMU (vnc_led.h) */
    IMSG_QUIT,       /* give everything back and exit */
    IMSG_STATS,      /* how events fared so far (IMSG_STATS_NOW) */
    /* mover -> supervisor */
    IMSG_GONE = 100,  /* source: its node went away; value: the errno */
    IMSG_SIDE_NOW,    /* value: the side input is on now */
    IMSG_GRAB_FAILED, /* source; value: a negative errno */
    IMSG_LED_STATE,   /* value: the guest's LEDs (VNC_LED_* bits) */
    IMSG_LED_ENDED,   /* text: why the LEDs no longer follow the guest */
    IMSG_READY,       /* set up; value: 0, or a negative errno with text saying why not */
    IMSG_STATS_NOW,   /* text: "frames=N p50=US p90=US p99=US max=US dropped=N" */
};

#define IMSG_TOGGLE 2

struct input_msg {
    uint32_t type;
    int32_t entry, source, value;
    char text[112];
};

/* What the mover is given at its start. */
struct input_mover_cfg {
    size_t n_entries;
    int uinput_fd[ROUTE_ENTRIES_MAX];            /* each entry's virtual device */
    enum route_hotkey hotkey[ROUTE_ENTRIES_MAX]; /* each entry's grab_toggle */
    /* Where it runs: the CPUs of QEMU's emulator threads, which read what
     * it writes (cpu.pin.emulator), or n_cpus 0 for anywhere; and ahead of
     * the host's ordinary work (nice), so that a busy host delays no
     * keystroke. */
    const int *cpus;
    size_t n_cpus;
    int nice;
};

/* Fork the mover and wait until it has dropped its privileges. 0 with
 * *pid and *ctl (the supervisor's end of the control socket, close-on-exec)
 * set, or a negative errno with err set (nothing left running). */
int input_mover_start(const struct input_mover_cfg *cfg, pid_t *pid, int *ctl,
                      struct vmrun_error *err);

/* One message, with an optional descriptor (fd -1: none). 0 or -errno. */
int input_msg_send(int sock, const struct input_msg *m, int fd);

/* One message without blocking: 1 with *m (and *fd, or -1), 0 when there is
 * none, -EPIPE when the other end is gone, another negative errno. */
int input_msg_recv(int sock, struct input_msg *m, int *fd);

#endif
