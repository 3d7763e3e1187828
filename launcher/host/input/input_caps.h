/* What an input device can report (its capabilities), read from the
 * kernel, remembered, and given to the virtual device vmrun makes for it.
 *
 * A VM's virtual input device (host/input/uinput_dev.h) must exist before
 * QEMU starts and for as long as QEMU runs, whether the physical device is
 * plugged in or not. So the capabilities of each input[] entry's physical
 * device are remembered in the VM's state directory
 * (/var/lib/vmrun/NAME/input-devices.json, root's, 0600) each time it is
 * seen, and a start with the device unplugged builds the virtual device
 * from what was remembered; a device never seen gets a generic keyboard
 * and relative mouse (every keyboard key, the usual buttons, X/Y and both
 * wheels), which covers what QEMU passes on from an ordinary keyboard or
 * mouse (not absolute axes: plug a tablet in once before the first start).
 *
 * What the virtual device keeps of a physical device's capabilities:
 * keys and buttons, relative and absolute axes (with their ranges),
 * miscellaneous events (scan codes), LEDs and the device properties. It
 * never gets EV_REP (the physical device repeats, and vmrun passes its
 * repeats on: two repeaters would double them), nor force feedback or
 * sound (a request to those would wait on vmrun), nor switches. */
#ifndef VMRUN_INPUT_CAPS_H
#define VMRUN_INPUT_CAPS_H

#include <cjson/cJSON.h>
#include <linux/input.h>
#include <stdbool.h>
#include <stdint.h>

#define INPUT_BITS_BYTES(max) (((max) + 8) / 8)
#define INPUT_NAME_MAX 80 /* UINPUT_MAX_NAME_SIZE */

struct input_caps {
    char name[INPUT_NAME_MAX];
    struct input_id id;
    uint8_t ev[INPUT_BITS_BYTES(EV_MAX)];
    uint8_t key[INPUT_BITS_BYTES(KEY_MAX)];
    uint8_t rel[INPUT_BITS_BYTES(REL_MAX)];
    uint8_t abs[INPUT_BITS_BYTES(ABS_MAX)];
    uint8_t msc[INPUT_BITS_BYTES(MSC_MAX)];
    uint8_t led[INPUT_BITS_BYTES(LED_MAX)];
    uint8_t prop[INPUT_BITS_BYTES(INPUT_PROP_MAX)];
    struct input_absinfo absinfo[ABS_CNT]; /* for the axes set in abs */
};

static inline bool input_bit(const uint8_t *bits, unsigned n)
{
    return (bits[n / 8] >> (n % 8)) & 1;
}

static inline void input_bit_set(uint8_t *bits, unsigned n, bool on)
{
    if (on)
        bits[n / 8] |= (uint8_t)(1u << (n % 8));
    else
        bits[n / 8] &= (uint8_t) ~(1u << (n % 8));
}

/* Read the capabilities of an open evdev device. 0 or a negative errno
 * (-ENOTTY: not an evdev device). */
int input_caps_read(int fd, struct input_caps *c);

/* Add from's capabilities to into's (the union: one virtual device for
 * every event node of a physical device). The name and ids stay into's,
 * unless into has none. */
void input_caps_merge(struct input_caps *into, const struct input_caps *from);

/* Keep only what a virtual device may have (above). */
void input_caps_for_virtual(struct input_caps *c);

/* The generic keyboard and mouse of a device never seen. */
void input_caps_generic(struct input_caps *c);

/* Does the device report anything vmrun passes on? */
bool input_caps_empty(const struct input_caps *c);

bool input_caps_equal(const struct input_caps *a, const struct input_caps *b);

/* To and from the remembered form: {"name", "id": [bus, vendor, product,
 * version], "ev", "key", "rel", "abs", "msc", "led", "prop" (bitmaps as
 * hex strings, byte 0 first), "absinfo": [[code, min, max, fuzz, flat,
 * resolution], ...]}. input_caps_from_json() checks every field (the file
 * is root's, but a damaged one must not become a strange device): 0 or
 * -EINVAL. Pure. */
cJSON *input_caps_to_json(const struct input_caps *c);
int input_caps_from_json(const cJSON *j, struct input_caps *c);

#endif
