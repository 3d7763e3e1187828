/* The routing state machine (launcher/host/input/input_route.c), event by
 * event: what reaches the guest's virtual devices, what the host is given
 * back, when the grabs change and when the side switches. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "host/input/input_route.h"

/* What the state machine did, as text lines: "guest 0: K30=1 SYN",
 * "host 1: K29=0 SYN", "grab 0 on", "side guest", "grab-failed 0". */
static char log_buf[8192];
static uint8_t keystate[ROUTE_SOURCES_MAX][ROUTE_KEY_BYTES];
static int grab_result[ROUTE_SOURCES_MAX];

static void logline(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logline(const char *fmt, ...)
{
    size_t at = strlen(log_buf);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(log_buf + at, sizeof(log_buf) - at, fmt, ap);
    va_end(ap);
}

static void events(const char *who, unsigned n, const struct input_event *ev, size_t count)
{
    logline("%s %u:", who, n);
    for (size_t i = 0; i < count; i++) {
        if (ev[i].type == EV_SYN && ev[i].code == SYN_REPORT)
            logline(" SYN");
        else if (ev[i].type == EV_KEY)
            logline(" K%u=%d", ev[i].code, ev[i].value);
        else if (ev[i].type == EV_REL)
            logline(" R%u=%d", ev[i].code, ev[i].value);
        else
            logline(" T%u.%u=%d", ev[i].type, ev[i].code, ev[i].value);
    }
    logline("\n");
}

static void to_guest(void *o, unsigned entry, const struct input_event *ev, size_t n)
{
    (void)o;
    events("guest", entry, ev, n);
}

static void to_host(void *o, unsigned source, const struct input_event *ev, size_t n)
{
    (void)o;
    events("host", source, ev, n);
    /* An injected release reaches the kernel's key state. */
    for (size_t i = 0; i < n; i++)
        if (ev[i].type == EV_KEY && ev[i].value == 0)
            input_bit_set(keystate[source], ev[i].code, false);
}

static int grab(void *o, unsigned source, bool on)
{
    (void)o;
    logline("grab %u %s\n", source, on ? "on" : "off");
    return on ? grab_result[source] : 0;
}

static int get_keys(void *o, unsigned source, uint8_t bits[ROUTE_KEY_BYTES])
{
    (void)o;
    memcpy(bits, keystate[source], ROUTE_KEY_BYTES);
    return 0;
}

static void side_changed(void *o, enum route_side side)
{
    (void)o;
    logline("side %s\n", side == ROUTE_GUEST ? "guest" : "host");
}

static void grab_failed(void *o, unsigned source, int e)
{
    (void)o;
    logline("grab-failed %u %d\n", source, e);
}

static const struct route_ops ops = {to_guest, to_host, grab, get_keys, side_changed, grab_failed};
static struct route r;

/* A fresh route with input on the guest's side and sources 0 (entry 0)
 * and, when two, 1 (entry 0 too). */
static int setup(void **state)
{
    (void)state;
    memset(keystate, 0, sizeof(keystate));
    memset(grab_result, 0, sizeof(grab_result));
    route_init(&r, &ops, NULL);
    return 0;
}

static void clear(void)
{
    log_buf[0] = '\0';
}

/* What a physical device sends: a key with its SYN; the kernel's key
 * state follows. */
static void key(unsigned source, unsigned code, int value)
{
    struct input_event ev = {.type = EV_KEY, .code = (uint16_t)code, .value = value};
    if (value != 2)
        input_bit_set(keystate[source], code, value != 0);
    route_event(&r, source, &ev);
    struct input_event syn = {.type = EV_SYN, .code = SYN_REPORT};
    route_event(&r, source, &syn);
}

static void guest_with(unsigned sources, enum route_hotkey hk)
{
    for (unsigned i = 0; i < sources; i++)
        assert_int_equal(route_add_source(&r, i, 0, hk), 0);
    route_set_side(&r, ROUTE_GUEST);
    clear();
}

static void test_guest_gets_frames(void **state)
{
    (void)state;
    guest_with(1, HOTKEY_CTRL_CTRL);
    key(0, KEY_A, 1);
    key(0, KEY_A, 2);
    key(0, KEY_A, 0);
    struct input_event frame[] = {{.type = EV_REL, .code = REL_X, .value = 5},
                                  {.type = EV_REL, .code = REL_Y, .value = -3},
                                  {.type = EV_SYN, .code = SYN_REPORT}};
    for (size_t i = 0; i < 3; i++)
        route_event(&r, 0, &frame[i]);
    assert_string_equal(log_buf, "guest 0: K30=1 SYN\n"
                                 "guest 0: K30=2 SYN\n"
                                 "guest 0: K30=0 SYN\n"
                                 "guest 0: R0=5 R1=-3 SYN\n");
}

static void test_host_side_passes_nothing(void **state)
{
    (void)state;
    assert_int_equal(route_add_source(&r, 0, 0, HOTKEY_CTRL_CTRL), 0);
    clear();
    key(0, KEY_A, 1);
    key(0, KEY_A, 0);
    assert_string_equal(log_buf, "");
}

static void test_unplug_releases_held_keys(void **state)
{
    (void)state;
    guest_with(1, HOTKEY_CTRL_CTRL);
    key(0, KEY_W, 1);
    key(0, BTN_LEFT, 1);
    clear();
    route_remove_source(&r, 0, true);
    /* Every key and button still held, then a SYN; no ungrab of a device
     * that is gone. */
    assert_string_equal(log_buf, "guest 0: K17=0 K272=0 SYN\n");
}

static void test_hotkey_switches_after_release(void **state)
{
    (void)state;
    guest_with(1, HOTKEY_CTRL_CTRL);
    key(0, KEY_W, 1);
    key(0, KEY_LEFTCTRL, 1);
    key(0, KEY_RIGHTCTRL, 1);
    key(0, KEY_RIGHTCTRL, 0);
    /* One of the hotkey's keys is still down: no switch yet. */
    assert_null(strstr(log_buf, "side"));
    key(0, KEY_LEFTCTRL, 0);
    assert_string_equal(log_buf, "guest 0: K17=1 SYN\n"
                                 "guest 0: K29=1 SYN\n"
                                 "guest 0: K97=1 SYN\n"
                                 "guest 0: K97=0 SYN\n"
                                 "guest 0: K29=0 SYN\n"
                                 /* the switch: W, still held, released */
                                 "guest 0: K17=0 SYN\n"
                                 "grab 0 off\n"
                                 "side host\n");
    /* W's release comes later: the host's, not the guest's. */
    clear();
    key(0, KEY_W, 0);
    assert_string_equal(log_buf, "");
}

static void test_hotkey_back_to_guest_releases_host(void **state)
{
    (void)state;
    assert_int_equal(route_add_source(&r, 0, 0, HOTKEY_CTRL_CTRL), 0);
    clear();
    key(0, KEY_LEFTSHIFT, 1); /* held on the host through the switch */
    key(0, KEY_LEFTCTRL, 1);
    key(0, KEY_RIGHTCTRL, 1);
    key(0, KEY_LEFTCTRL, 0);
    key(0, KEY_RIGHTCTRL, 0);
    assert_string_equal(log_buf, "host 0: K42=0 SYN\n"
                                 "grab 0 on\n"
                                 "side guest\n");
    /* Shift was released for the host; the guest never had it. */
    clear();
    key(0, KEY_LEFTSHIFT, 2);
    key(0, KEY_LEFTSHIFT, 0);
    assert_string_equal(log_buf, "");
    key(0, KEY_B, 1);
    assert_string_equal(log_buf, "guest 0: K48=1 SYN\n");
}

static void test_scroll_lock_hotkey_is_not_the_guests(void **state)
{
    (void)state;
    guest_with(1, HOTKEY_SCROLLLOCK);
    key(0, KEY_SCROLLLOCK, 1);
    key(0, KEY_SCROLLLOCK, 0);
    assert_string_equal(log_buf, "grab 0 off\nside host\n");
}

static void test_other_hotkeys(void **state)
{
    (void)state;
    guest_with(1, HOTKEY_CTRL_SCROLLLOCK);
    key(0, KEY_RIGHTCTRL, 1);
    key(0, KEY_SCROLLLOCK, 1);
    key(0, KEY_SCROLLLOCK, 0);
    assert_null(strstr(log_buf, "side"));
    key(0, KEY_RIGHTCTRL, 0);
    assert_non_null(strstr(log_buf, "side host"));
    /* Both Ctrl keys are no hotkey here. */
    setup(NULL);
    guest_with(1, HOTKEY_ALT_ALT);
    key(0, KEY_LEFTCTRL, 1);
    key(0, KEY_RIGHTCTRL, 1);
    key(0, KEY_LEFTCTRL, 0);
    key(0, KEY_RIGHTCTRL, 0);
    assert_null(strstr(log_buf, "side"));
    key(0, KEY_LEFTALT, 1);
    key(0, KEY_RIGHTALT, 1);
    key(0, KEY_LEFTALT, 0);
    key(0, KEY_RIGHTALT, 0);
    assert_non_null(strstr(log_buf, "side host"));
}

static void test_command_switch(void **state)
{
    (void)state;
    guest_with(2, HOTKEY_CTRL_CTRL);
    key(0, KEY_A, 1);
    key(1, BTN_RIGHT, 1);
    clear();
    route_set_side(&r, ROUTE_HOST);
    assert_string_equal(log_buf, "guest 0: K30=0 SYN\n"
                                 "grab 0 off\n"
                                 "guest 0: K273=0 SYN\n"
                                 "grab 1 off\n"
                                 "side host\n");
    clear();
    route_set_side(&r, ROUTE_HOST);
    assert_string_equal(log_buf, "");
    /* Keys still down on the host get their release before the grab. */
    route_set_side(&r, ROUTE_GUEST);
    assert_string_equal(log_buf, "host 0: K30=0 SYN\n"
                                 "grab 0 on\n"
                                 "host 1: K273=0 SYN\n"
                                 "grab 1 on\n"
                                 "side guest\n");
}

static void test_two_sources_one_key(void **state)
{
    (void)state;
    guest_with(2, HOTKEY_CTRL_CTRL);
    key(0, KEY_LEFTSHIFT, 1);
    key(1, KEY_LEFTSHIFT, 1);
    key(0, KEY_LEFTSHIFT, 0);
    /* The other source still holds it: no release yet. */
    assert_string_equal(log_buf, "guest 0: K42=1 SYN\n"
                                 "guest 0: K42=1 SYN\n");
    key(1, KEY_LEFTSHIFT, 0);
    assert_non_null(strstr(log_buf, "guest 0: K42=0 SYN\n"));
}

static void test_dropped_events_resync(void **state)
{
    (void)state;
    guest_with(1, HOTKEY_CTRL_CTRL);
    key(0, KEY_A, 1);
    key(0, KEY_B, 1);
    clear();
    /* A frame lost half way: B's release and C's press never reach the
     * guest, and the kernel's buffer overflowed (SYN_DROPPED). */
    struct input_event ev[] = {{.type = EV_KEY, .code = KEY_B, .value = 0},
                               {.type = EV_KEY, .code = KEY_C, .value = 1},
                               {.type = EV_SYN, .code = SYN_DROPPED},
                               {.type = EV_KEY, .code = KEY_D, .value = 1},
                               {.type = EV_SYN, .code = SYN_REPORT}};
    /* Meanwhile A and B went up and C stayed down (the kernel says so). */
    input_bit_set(keystate[0], KEY_A, false);
    input_bit_set(keystate[0], KEY_B, false);
    input_bit_set(keystate[0], KEY_C, true);
    for (size_t i = 0; i < 5; i++)
        route_event(&r, 0, &ev[i]);
    /* The guest has A and B released; C, whose press it never saw, is not
     * pressed behind its back. */
    assert_string_equal(log_buf, "guest 0: K30=0 K48=0 SYN\n");
    clear();
    key(0, KEY_C, 0);
    key(0, KEY_E, 1);
    assert_string_equal(log_buf, "guest 0: K18=1 SYN\n");
}

static void test_grab_failure_keeps_source_on_host(void **state)
{
    (void)state;
    grab_result[0] = -EBUSY;
    assert_int_equal(route_add_source(&r, 0, 0, HOTKEY_CTRL_CTRL), 0);
    route_set_side(&r, ROUTE_GUEST);
    assert_non_null(strstr(log_buf, "grab-failed 0 -16\n"));
    clear();
    key(0, KEY_A, 1);
    key(0, KEY_A, 0);
    assert_string_equal(log_buf, "");
}

static void test_source_added_while_guest_has_input(void **state)
{
    (void)state;
    guest_with(1, HOTKEY_CTRL_CTRL);
    input_bit_set(keystate[3], KEY_ENTER, true);
    assert_int_equal(route_add_source(&r, 3, 0, HOTKEY_CTRL_CTRL), 0);
    assert_string_equal(log_buf, "host 3: K28=0 SYN\ngrab 3 on\n");
    assert_int_equal(route_add_source(&r, 3, 0, HOTKEY_CTRL_CTRL), -EINVAL);
    assert_int_equal(route_add_source(&r, ROUTE_SOURCES_MAX, 0, HOTKEY_CTRL_CTRL), -EINVAL);
}

static void test_hotkey_names(void **state)
{
    (void)state;
    assert_int_equal(route_hotkey_from_name(NULL), HOTKEY_CTRL_CTRL);
    assert_int_equal(route_hotkey_from_name("ctrl-scrolllock"), HOTKEY_CTRL_SCROLLLOCK);
    assert_int_equal(route_hotkey_from_name("meta-meta"), HOTKEY_META_META);
    assert_int_equal(route_hotkey_from_name("ctrl"), -1);
    assert_string_equal(route_hotkey_name(HOTKEY_SHIFT_SHIFT), "shift-shift");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_guest_gets_frames, setup),
        cmocka_unit_test_setup(test_host_side_passes_nothing, setup),
        cmocka_unit_test_setup(test_unplug_releases_held_keys, setup),
        cmocka_unit_test_setup(test_hotkey_switches_after_release, setup),
        cmocka_unit_test_setup(test_hotkey_back_to_guest_releases_host, setup),
        cmocka_unit_test_setup(test_scroll_lock_hotkey_is_not_the_guests, setup),
        cmocka_unit_test_setup(test_other_hotkeys, setup),
        cmocka_unit_test_setup(test_command_switch, setup),
        cmocka_unit_test_setup(test_two_sources_one_key, setup),
        cmocka_unit_test_setup(test_dropped_events_resync, setup),
        cmocka_unit_test_setup(test_grab_failure_keeps_source_on_host, setup),
        cmocka_unit_test_setup(test_source_added_while_guest_has_input, setup),
        cmocka_unit_test(test_hotkey_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
