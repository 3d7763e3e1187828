/* The guest's LEDs over QEMU's VNC server (launcher/host/input/vnc_led.c):
 * a conversation as QEMU 7.2 holds it (checked against a real QEMU while
 * this was written), fed whole and one byte at a time, and what a QEMU
 * that says anything else gets: the end of the conversation. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "host/input/vnc_led.h"

/* clang-format off */
static const uint8_t greeting[] = "RFB 003.008\n";
static const uint8_t security[] = {1, 1, 0, 0, 0, 0}; /* one type: None; then result 0 */
static const uint8_t server_init[] = {0x02, 0x80, 0x01, 0xe0, /* 640x480 */
                                      32,   24,   0,    1,    0, 255, 0, 255, 0, 255, 16, 8, 0,
                                      0,    0,    0,          /* pixel format */
                                      0,    0,    0,    4,    'Q', 'E', 'M', 'U'};
/* A FramebufferUpdate of one LED-state rectangle. */
#define LED_UPDATE(state)                                                                          \
    0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xfe, 0xfb, (state)

static const uint8_t after[] = {
    LED_UPDATE(0),
    2,                                      /* Bell */
    3,          0, 0, 0, 0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o', /* cut text */
    LED_UPDATE(4),
    0,          0, 0, 2, /* two rectangles in one update */
    0,          0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xfe, 0xfb, 6,
    0,          0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xfe, 0xfb, 0xfa, /* unknown bits dropped: 2 */
    1,          0, 0, 0, 0, 1, 1, 2, 3, 4, 5, 6,                     /* a colour map of one */
    LED_UPDATE(2),                                                   /* the same again */
};

/* clang-format on */

static uint8_t stream[512];
static size_t stream_len;

static void build(void)
{
    stream_len = 0;
    memcpy(stream, greeting, 12);
    stream_len += 12;
    memcpy(stream + stream_len, security, sizeof(security));
    stream_len += sizeof(security);
    memcpy(stream + stream_len, server_init, sizeof(server_init));
    stream_len += sizeof(server_init);
    memcpy(stream + stream_len, after, sizeof(after));
    stream_len += sizeof(after);
}

/* Feed [from, to) in pieces of step bytes; the replies and the LED states
 * seen, in order. */
static void feed(struct vnc_led *v, size_t from, size_t to, size_t step, uint8_t *replies,
                 size_t *rlen, int *states, size_t *nstates)
{
    for (size_t at = from; at < to; at += step) {
        size_t n = to - at < step ? to - at : step;
        uint8_t reply[VNC_LED_REPLY_MAX];
        size_t len = 0;
        int r = vnc_led_feed(v, stream + at, n, reply, &len);
        assert_true(r == 0 || r == 1);
        memcpy(replies + *rlen, reply, len);
        *rlen += len;
        if (r == 1)
            states[(*nstates)++] = v->state;
    }
}

static void conversation(size_t step)
{
    build();
    struct vnc_led v;
    vnc_led_init(&v);
    uint8_t replies[128];
    size_t rlen = 0, nstates = 0;
    int states[16];
    feed(&v, 0, stream_len, step, replies, &rlen, states, &nstates);
    static const uint8_t want[] = {
        'R', 'F', 'B', ' ', '0',  '0',  '3',  '.', '0', '0', '8', '\n', 1, /* security None */
        1,                                                                 /* ClientInit: shared */
        2,   0,   0,   1,   0xff, 0xff, 0xfe, 0xfb /* SetEncodings: LEDs */};
    assert_int_equal(rlen, sizeof(want));
    assert_memory_equal(replies, want, sizeof(want));
    /* 0 (the state at once), caps, caps+num, num; the repeat of num is no
     * change. Fed whole, one call sees them all: the last one counts. */
    assert_null(v.error);
    assert_int_equal(v.state, VNC_LED_NUM);
    if (step >= stream_len) {
        assert_int_equal(nstates, 1);
        return;
    }
    assert_int_equal(nstates, 4);
    assert_int_equal(states[0], 0);
    assert_int_equal(states[1], VNC_LED_CAPS);
    assert_int_equal(states[2], VNC_LED_CAPS | VNC_LED_NUM);
    assert_int_equal(states[3], VNC_LED_NUM);
}

static void test_whole(void **state)
{
    (void)state;
    conversation(sizeof(stream));
}

static void test_byte_by_byte(void **state)
{
    (void)state;
    conversation(1);
}

/* The conversation up to the first message, then bad bytes. */
static int refused(const uint8_t *bad, size_t len, size_t prefix, const char *why)
{
    build();
    struct vnc_led v;
    vnc_led_init(&v);
    uint8_t reply[VNC_LED_REPLY_MAX];
    size_t rlen;
    int r = 0;
    if (prefix > 0)
        r = vnc_led_feed(&v, stream, prefix, reply, &rlen);
    assert_true(r >= 0);
    r = vnc_led_feed(&v, bad, len, reply, &rlen);
    assert_int_equal(r, -EPROTO);
    assert_non_null(v.error);
    assert_non_null(strstr(v.error, why));
    /* Over is over. */
    r = vnc_led_feed(&v, stream, 1, reply, &rlen);
    assert_int_equal(r, -EPROTO);
    return 0;
}

static void test_refusals(void **state)
{
    (void)state;
    size_t ready = 12 + sizeof(security) + sizeof(server_init);
    refused((const uint8_t *)"HTTP/1.1 200", 12, 0, "RFB");
    refused((const uint8_t *)"\0\0\0\x0a", 4, 12, "refused"); /* no types: reason */
    refused((const uint8_t *)"\x02\x02\x10", 3, 12, "without authentication");
    refused((const uint8_t *)"\x01\x01\0\0\0\x01", 6, 12, "refused"); /* result 1 */
    refused((const uint8_t *)"\x63", 1, ready, "did not ask for");
    static const uint8_t raw[] = {0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0};
    refused(raw, sizeof(raw), ready, "picture");
}

static void test_long_skips_cost_nothing(void **state)
{
    (void)state;
    build();
    struct vnc_led v;
    vnc_led_init(&v);
    uint8_t reply[VNC_LED_REPLY_MAX];
    size_t rlen;
    assert_int_equal(vnc_led_feed(&v, stream, 12 + sizeof(security), reply, &rlen), 0);
    /* A desktop name of 4 GiB - 1: passed over, never stored. */
    uint8_t init[24];
    memcpy(init, server_init, 20);
    memset(init + 20, 0xff, 4);
    assert_int_equal(vnc_led_feed(&v, init, sizeof(init), reply, &rlen), 0);
    assert_int_equal(v.skip, 0xffffffffULL);
    uint8_t junk[4096];
    memset(junk, 0x41, sizeof(junk));
    for (int i = 0; i < 16; i++)
        assert_int_equal(vnc_led_feed(&v, junk, sizeof(junk), reply, &rlen), 0);
    assert_int_equal(v.skip, 0xffffffffULL - 16 * sizeof(junk));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole),
        cmocka_unit_test(test_byte_by_byte),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_long_skips_cost_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
