/* The guest's keyboard LEDs, read from QEMU as a VNC client does.
 *
 * QEMU tells nobody over QMP when the guest sets Caps, Num or Scroll Lock,
 * and its input-linux backend never writes LEDs back to the device it
 * reads. Its VNC server does tell: a client that asks for QEMU's "LED
 * state" pseudo-encoding (-261) gets a FramebufferUpdate with one such
 * rectangle, one byte, whenever the LEDs change (and once at once). So
 * vmrun is a VNC client of its own VM, over a socket pair whose other end
 * QEMU gets through QMP (getfd + add_client, skipauth: nothing listens,
 * nobody else can reach it), on a VNC server started with nothing to
 * listen on (-vnc none) or on the profile's own VNC display. It asks for
 * nothing but that encoding and never requests a frame, so QEMU sends LED
 * states and little else.
 *
 * This is the client's side of the protocol (RFB 3.8, security "None",
 * shared), as a pure state machine over the bytes QEMU sends: QEMU is not
 * trusted, so every length is bounded, anything unexpected ends the
 * conversation (the LEDs then stay as they are), and no byte QEMU sends
 * is kept beyond the state below. Fuzzed (tests/input/fuzz_vnc_led.c). */
#ifndef VMRUN_VNC_LED_H
#define VMRUN_VNC_LED_H

#include <stddef.h>
#include <stdint.h>

/* QEMU's LED bits, as its keyboard models report them. */
#define VNC_LED_SCROLL 1
#define VNC_LED_NUM 2
#define VNC_LED_CAPS 4

#define VNC_LED_REPLY_MAX 32

struct vnc_led {
    int stage;
    uint8_t buf[24]; /* the fixed-size part being read */
    size_t need, got;
    uint64_t skip;     /* bytes to pass over (a server name, cut text, colour map) */
    unsigned rects;    /* rectangles left in a FramebufferUpdate, security types left */
    int none_offered;  /* the server offers security type None */
    int state;         /* the last LED state, -1 before the first */
    const char *error; /* why the conversation ended, or NULL */
};

void vnc_led_init(struct vnc_led *v);

/* Feed bytes QEMU sent. Whatever the client must answer is appended to
 * reply (at most VNC_LED_REPLY_MAX bytes per call, *reply_len set); a
 * new LED state, when one arrived, is in v->state with the return value
 * 1. Returns 0 when nothing changed, 1 when the LED state did, -EPROTO
 * (v->error says why) once the conversation is over. */
int vnc_led_feed(struct vnc_led *v, const uint8_t *data, size_t len, uint8_t *reply,
                 size_t *reply_len);

#endif
