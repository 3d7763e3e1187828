/* The routing state machine (input_route.h). */
#include "host/input/input_route.h"

#include <errno.h>
#include <string.h>

#include "base/cleanup.h"

static const char *const hotkey_names[] = {
    [HOTKEY_CTRL_CTRL] = "ctrl-ctrl",     [HOTKEY_ALT_ALT] = "alt-alt",
    [HOTKEY_SHIFT_SHIFT] = "shift-shift", [HOTKEY_META_META] = "meta-meta",
    [HOTKEY_SCROLLLOCK] = "scrolllock",   [HOTKEY_CTRL_SCROLLLOCK] = "ctrl-scrolllock",
};

int route_hotkey_from_name(const char *name)
{
    if (name == NULL)
        return HOTKEY_CTRL_CTRL;
    for (size_t i = 0; i < ARRAY_SIZE(hotkey_names); i++)
        if (strcmp(name, hotkey_names[i]) == 0)
            return (int)i;
    return -1;
}

const char *route_hotkey_name(enum route_hotkey hk)
{
    return (size_t)hk < ARRAY_SIZE(hotkey_names) ? hotkey_names[hk] : "?";
}

/* The keys a hotkey is made of (what must all be up before the switch). */
static size_t hotkey_keys(enum route_hotkey hk, unsigned keys[3])
{
    switch (hk) {
    case HOTKEY_CTRL_CTRL:
        keys[0] = KEY_LEFTCTRL, keys[1] = KEY_RIGHTCTRL;
        return 2;
    case HOTKEY_ALT_ALT:
        keys[0] = KEY_LEFTALT, keys[1] = KEY_RIGHTALT;
        return 2;
    case HOTKEY_SHIFT_SHIFT:
        keys[0] = KEY_LEFTSHIFT, keys[1] = KEY_RIGHTSHIFT;
        return 2;
    case HOTKEY_META_META:
        keys[0] = KEY_LEFTMETA, keys[1] = KEY_RIGHTMETA;
        return 2;
    case HOTKEY_SCROLLLOCK:
        keys[0] = KEY_SCROLLLOCK;
        return 1;
    case HOTKEY_CTRL_SCROLLLOCK:
        keys[0] = KEY_LEFTCTRL, keys[1] = KEY_RIGHTCTRL, keys[2] = KEY_SCROLLLOCK;
        return 3;
    }
    return 0;
}

/* Is the hotkey pressed now (QEMU's input_linux_check_toggle)? */
static bool hotkey_pressed(const struct route_source *s)
{
    const uint8_t *d = s->down;
    switch (s->hotkey) {
    case HOTKEY_CTRL_CTRL:
    case HOTKEY_ALT_ALT:
    case HOTKEY_SHIFT_SHIFT:
    case HOTKEY_META_META: {
        unsigned k[3];
        hotkey_keys(s->hotkey, k);
        return input_bit(d, k[0]) && input_bit(d, k[1]);
    }
    case HOTKEY_SCROLLLOCK:
        return input_bit(d, KEY_SCROLLLOCK);
    case HOTKEY_CTRL_SCROLLLOCK:
        return (input_bit(d, KEY_LEFTCTRL) || input_bit(d, KEY_RIGHTCTRL)) &&
               input_bit(d, KEY_SCROLLLOCK);
    }
    return false;
}

static bool hotkey_released(const struct route_source *s)
{
    unsigned k[3];
    size_t n = hotkey_keys(s->hotkey, k);
    for (size_t i = 0; i < n; i++)
        if (input_bit(s->down, k[i]))
            return false;
    return true;
}

/* Scroll Lock as (part of) the hotkey is not the guest's (as in QEMU). */
static bool hotkey_only(const struct route_source *s, unsigned code)
{
    return code == KEY_SCROLLLOCK &&
           (s->hotkey == HOTKEY_SCROLLLOCK || s->hotkey == HOTKEY_CTRL_SCROLLLOCK);
}

void route_init(struct route *r, const struct route_ops *ops, void *opaque)
{
    memset(r, 0, sizeof(*r));
    r->ops = *ops;
    r->opaque = opaque;
    r->side = ROUTE_HOST;
}

static struct input_event ev_make(unsigned type, unsigned code, int value)
{
    return (struct input_event){.type = (uint16_t)type, .code = (uint16_t)code, .value = value};
}

/* Pass a source's frame to the guest, closed with SYN_REPORT. */
static void flush(struct route *r, struct route_source *s)
{
    if (s->n == 0)
        return;
    s->frame[s->n++] = ev_make(EV_SYN, SYN_REPORT, 0);
    r->ops.to_guest(r->opaque, s->entry, s->frame, s->n);
    s->n = 0;
}

static void append(struct route *r, struct route_source *s, const struct input_event *ev)
{
    if (s->n + 1 >= ROUTE_FRAME_MAX)
        flush(r, s); /* a frame longer than any keyboard or mouse sends */
    /* The kernel's timestamp stays: uinput ignores it, and the mover
     * measures from it how long an event took through vmrun. */
    s->frame[s->n++] = *ev;
}

/* Release in the guest every key a source gave it, but those in keep
 * (NULL: none); a key stays down in the virtual device while another
 * source of the entry holds it. */
static void release_given(struct route *r, struct route_source *s, const uint8_t *keep)
{
    s->n = 0; /* a half-read frame is not passed on */
    for (unsigned k = 0; k <= KEY_MAX; k++) {
        if (!input_bit(s->given, k) || (keep != NULL && input_bit(keep, k)))
            continue;
        input_bit_set(s->given, k, false);
        uint8_t *held = &r->held[s->entry][k];
        if (*held > 0 && --*held == 0) {
            struct input_event up = ev_make(EV_KEY, k, 0);
            append(r, s, &up);
        }
    }
    flush(r, s);
}

/* Take a source for the guest: the host gets a release for what the
 * kernel has down on it (injected while nothing grabs it, so every
 * reader sees it), then the grab. */
static void take_source(struct route *r, unsigned i)
{
    struct route_source *s = &r->src[i];
    uint8_t bits[ROUTE_KEY_BYTES] = {0};
    if (r->ops.keystate(r->opaque, i, bits) == 0) {
        struct input_event rel[ROUTE_FRAME_MAX];
        size_t n = 0;
        for (unsigned k = 0; k <= KEY_MAX; k++) {
            if (!input_bit(bits, k))
                continue;
            rel[n++] = ev_make(EV_KEY, k, 0);
            if (n + 1 == ROUTE_FRAME_MAX) {
                rel[n++] = ev_make(EV_SYN, SYN_REPORT, 0);
                r->ops.to_host(r->opaque, i, rel, n);
                n = 0;
            }
        }
        if (n > 0) {
            rel[n++] = ev_make(EV_SYN, SYN_REPORT, 0);
            r->ops.to_host(r->opaque, i, rel, n);
        }
    }
    /* The kernel now has them up: what is still held must be pressed
     * again, for the guest. */
    memset(s->down, 0, sizeof(s->down));
    memset(s->given, 0, sizeof(s->given));
    s->n = 0;
    s->pending = false;
    int e = r->ops.grab(r->opaque, i, true);
    s->grabbed = e == 0;
    if (e < 0 && r->ops.grab_failed != NULL)
        r->ops.grab_failed(r->opaque, i, e);
}

int route_add_source(struct route *r, unsigned source, unsigned entry, enum route_hotkey hk)
{
    if (source >= ROUTE_SOURCES_MAX || entry >= ROUTE_ENTRIES_MAX || r->src[source].active)
        return -EINVAL;
    struct route_source *s = &r->src[source];
    memset(s, 0, sizeof(*s));
    s->active = true;
    s->entry = entry;
    s->hotkey = hk;
    if (r->ops.keystate(r->opaque, source, s->down) < 0)
        memset(s->down, 0, sizeof(s->down));
    if (r->side == ROUTE_GUEST)
        take_source(r, source);
    return 0;
}

void route_remove_source(struct route *r, unsigned source, bool gone)
{
    if (source >= ROUTE_SOURCES_MAX || !r->src[source].active)
        return;
    struct route_source *s = &r->src[source];
    release_given(r, s, NULL);
    if (!gone && s->grabbed)
        r->ops.grab(r->opaque, source, false);
    memset(s, 0, sizeof(*s));
}

void route_set_side(struct route *r, enum route_side side)
{
    if (side == r->side)
        return;
    if (side == ROUTE_HOST) {
        /* The guest first: it must not be left holding anything. */
        for (unsigned i = 0; i < ROUTE_SOURCES_MAX; i++) {
            struct route_source *s = &r->src[i];
            if (!s->active)
                continue;
            release_given(r, s, NULL);
            s->pending = false;
            if (s->grabbed)
                r->ops.grab(r->opaque, i, false);
            s->grabbed = false;
        }
    } else {
        for (unsigned i = 0; i < ROUTE_SOURCES_MAX; i++)
            if (r->src[i].active)
                take_source(r, i);
    }
    r->side = side;
    r->ops.side_changed(r->opaque, side);
}

/* After SYN_DROPPED: what the kernel has down now is the truth; a key the
 * guest holds from this source and the kernel does not is released. */
static void resync(struct route *r, unsigned i)
{
    struct route_source *s = &r->src[i];
    uint8_t bits[ROUTE_KEY_BYTES] = {0};
    if (r->ops.keystate(r->opaque, i, bits) < 0)
        return;
    memcpy(s->down, bits, sizeof(bits));
    release_given(r, s, bits);
}

static void key_event(struct route *r, struct route_source *s, const struct input_event *ev)
{
    unsigned k = ev->code;
    if (k > KEY_MAX)
        return;
    input_bit_set(s->down, k, ev->value != 0);
    if (ev->value == 1 && hotkey_pressed(s))
        s->pending = true;
    if (r->side != ROUTE_GUEST || !s->grabbed || hotkey_only(s, k))
        return;
    uint8_t *held = &r->held[s->entry][k];
    if (ev->value == 1) {
        if (input_bit(s->given, k))
            return; /* a second press without a release: the kernel sends none */
        input_bit_set(s->given, k, true);
        if (*held < UINT8_MAX)
            ++*held;
        append(r, s, ev);
    } else if (ev->value == 0) {
        if (!input_bit(s->given, k))
            return; /* pressed on the host's side */
        input_bit_set(s->given, k, false);
        if (*held > 0 && --*held == 0)
            append(r, s, ev);
    } else if (input_bit(s->given, k)) {
        append(r, s, ev); /* a repeat of a key the guest has down */
    }
}

/* A frame that will not be passed on: its keys are as they were before
 * it (a release the guest never gets must leave the key given, so that
 * the resync releases it). */
static void drop_frame(struct route *r, struct route_source *s)
{
    for (size_t i = s->n; i-- > 0;) {
        const struct input_event *ev = &s->frame[i];
        if (ev->type != EV_KEY || ev->code > KEY_MAX || ev->value == 2)
            continue;
        uint8_t *held = &r->held[s->entry][ev->code];
        input_bit_set(s->given, ev->code, ev->value == 0);
        if (ev->value == 0 && *held < UINT8_MAX)
            ++*held;
        else if (ev->value == 1 && *held > 0)
            --*held;
    }
    s->n = 0;
}

void route_event(struct route *r, unsigned source, const struct input_event *ev)
{
    if (source >= ROUTE_SOURCES_MAX || !r->src[source].active)
        return;
    struct route_source *s = &r->src[source];
    if (ev->type == EV_SYN && ev->code == SYN_DROPPED) {
        s->dropping = true;
        drop_frame(r, s);
        return;
    }
    if (ev->type == EV_SYN && ev->code == SYN_REPORT) {
        if (s->dropping) {
            s->dropping = false;
            resync(r, source);
        } else if (r->side == ROUTE_GUEST) {
            flush(r, s);
        }
        /* Switch at a frame's end, once the hotkey's keys are all up. */
        if (s->pending && hotkey_released(s)) {
            s->pending = false;
            route_set_side(r, r->side == ROUTE_GUEST ? ROUTE_HOST : ROUTE_GUEST);
        }
        return;
    }
    if (s->dropping)
        return;
    switch (ev->type) {
    case EV_KEY:
        key_event(r, s, ev);
        break;
    case EV_REL:
    case EV_ABS:
    case EV_MSC:
    case EV_SYN: /* SYN_MT_REPORT inside a frame */
        if (r->side == ROUTE_GUEST && s->grabbed)
            append(r, s, ev);
        break;
    default:
        break; /* LEDs, sound, force feedback, switches: not the guest's */
    }
}
