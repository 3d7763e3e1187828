/* libFuzzer harness: whatever a QEMU may send on the LED channel
 * (launcher/host/input/vnc_led.c). The first byte chooses how the rest is
 * cut into reads, as the socket would cut it; the parser must never read
 * or write out of bounds, never reply more than its bound, and once it
 * has given up, stay given up. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "host/input/vnc_led.h"

/* Checked in every build type: MUST() is gone under NDEBUG, and the
 * replay test runs the release flags. */
#define MUST(c)                                                                                    \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t step = (size_t)data[0] + 1;
    data++;
    size--;
    struct vnc_led v;
    vnc_led_init(&v);
    int dead = 0;
    for (size_t at = 0; at < size; at += step) {
        size_t n = size - at < step ? size - at : step;
        uint8_t reply[VNC_LED_REPLY_MAX];
        size_t len = 0;
        int r = vnc_led_feed(&v, data + at, n, reply, &len);
        MUST(len <= VNC_LED_REPLY_MAX);
        MUST(r == 0 || r == 1 || r == -EPROTO);
        MUST(!dead || r == -EPROTO);
        if (r == -EPROTO) {
            MUST(v.error != NULL);
            dead = 1;
        }
        if (r == 1)
            MUST(v.state >= 0 && v.state <= 7);
    }
    return 0;
}
