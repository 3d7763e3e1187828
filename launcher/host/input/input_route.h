/* Where input goes: the decisions of the process that moves events
 * (input_mover.h), as a pure state machine so they can be tested event by
 * event without a kernel.
 *
 * Sources are the physical event nodes the mover reads (several per
 * input[] entry: a receiver's keyboard, consumer keys and mouse); each
 * feeds the virtual device of its entry. Input is on one side at a time,
 * for all of the VM's devices together:
 *
 *   guest  the sources are grabbed (EVIOCGRAB: the host sees nothing of
 *          them) and their events go to the virtual devices, one whole
 *          frame (up to SYN_REPORT) at a time, so frames of two sources
 *          never interleave;
 *   host   the sources are not grabbed: the host reads them itself, the
 *          mover only watches for the hotkey.
 *
 * Never a stuck key: a key is released on a side only where it was
 * pressed. When a source disappears, the guest gets a release for every
 * key and button that source still holds there, then a SYN. When input
 * switches, the side that loses it gets releases for everything held on
 * it: the guest for what it was given, the host for what the kernel has
 * down on each source (injected into the source before it is grabbed). A
 * key pressed on one side and released on the other is not passed on: a
 * repeat or release the guest never saw pressed is dropped.
 *
 * The hotkey (each entry's grab_toggle, QEMU's grab-toggle choices; the
 * default both Ctrl keys) toggles the side when it is pressed on a source
 * of that entry, and the switch happens once the hotkey's own keys are all
 * released, so neither side is left with one of them down. As in QEMU, the
 * hotkey's keys reach the guest while it has input, except Scroll Lock
 * when it is (part of) the hotkey. After SYN_DROPPED (the kernel's buffer
 * overflowed) a source's frame is dropped and its keys are read back from
 * the kernel. */
#ifndef VMRUN_INPUT_ROUTE_H
#define VMRUN_INPUT_ROUTE_H

#include <linux/input.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "host/input/input_caps.h"

#define ROUTE_ENTRIES_MAX 32 /* VM_INPUTS_MAX */
#define ROUTE_SOURCES_MAX 64
#define ROUTE_FRAME_MAX 128 /* events of one frame; a longer one is passed on in parts */
#define ROUTE_KEY_BYTES INPUT_BITS_BYTES(KEY_MAX)

enum route_side { ROUTE_HOST, ROUTE_GUEST };

enum route_hotkey {
    HOTKEY_CTRL_CTRL, /* the default, as QEMU's */
    HOTKEY_ALT_ALT,
    HOTKEY_SHIFT_SHIFT,
    HOTKEY_META_META,
    HOTKEY_SCROLLLOCK,
    HOTKEY_CTRL_SCROLLLOCK,
};

/* The hotkey named as a profile (and QEMU) names it; -1 for none. */
int route_hotkey_from_name(const char *name);
const char *route_hotkey_name(enum route_hotkey hk);

/* What the state machine does to the world. */
struct route_ops {
    /* Write a frame (ending in SYN_REPORT) to an entry's virtual device.
     * Events read from a source keep the kernel's timestamp; the releases
     * the route makes up have none (0). */
    void (*to_guest)(void *opaque, unsigned entry, const struct input_event *ev, size_t n);
    /* Inject events into a source (the host's releases; ends in SYN_REPORT). */
    void (*to_host)(void *opaque, unsigned source, const struct input_event *ev, size_t n);
    /* Grab a source for the guest (true) or let it go; 0 or a negative errno. */
    int (*grab)(void *opaque, unsigned source, bool on);
    /* The keys the kernel has down on a source (EVIOCGKEY); 0 or -errno. */
    int (*keystate)(void *opaque, unsigned source, uint8_t bits[ROUTE_KEY_BYTES]);
    /* Input is now on this side. */
    void (*side_changed)(void *opaque, enum route_side side);
    /* A source could not be grabbed (err: a negative errno; -EBUSY:
     * another program holds it): its events stay the host's. */
    void (*grab_failed)(void *opaque, unsigned source, int err);
};

struct route_source {
    bool active;
    bool grabbed; /* taken for the guest */
    unsigned entry;
    enum route_hotkey hotkey;
    bool pending;                   /* the hotkey was pressed: switch once its keys are up */
    uint8_t down[ROUTE_KEY_BYTES];  /* keys down as the source reported them */
    uint8_t given[ROUTE_KEY_BYTES]; /* keys this source pressed in the guest */
    bool dropping;                  /* after SYN_DROPPED, until the next SYN_REPORT */
    size_t n;
    struct input_event frame[ROUTE_FRAME_MAX];
};

struct route {
    enum route_side side;
    struct route_ops ops;
    void *opaque;
    struct route_source src[ROUTE_SOURCES_MAX];
    /* How many sources hold each key of each virtual device. */
    uint8_t held[ROUTE_ENTRIES_MAX][KEY_CNT];
};

/* Input starts on the host side; route_set_side() gives it to the guest. */
void route_init(struct route *r, const struct route_ops *ops, void *opaque);

/* A physical event node of an entry, opened. When the guest has input it
 * is taken at once (the host's releases, then the grab). -EINVAL for a
 * source or entry out of range or already in use. */
int route_add_source(struct route *r, unsigned source, unsigned entry, enum route_hotkey hk);

/* The source went away (gone: its node is gone, nothing to let go) or is
 * let go: its keys released in the guest, then a SYN. */
void route_remove_source(struct route *r, unsigned source, bool gone);

/* One event read from a source. */
void route_event(struct route *r, unsigned source, const struct input_event *ev);

/* Give input to a side now (`vmrun input`), releasing what the other side
 * holds. Nothing happens when it is there already. */
void route_set_side(struct route *r, enum route_side side);

#endif
