/* What vmrun remembers of an input device (launcher/host/input/
 * input_caps.c): the same capabilities back after a round trip through the
 * state file's form, what a virtual device may keep, and damaged records
 * refused rather than turned into a strange device. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "host/input/input_caps.h"

/* A gaming mouse with a keyboard interface and a tablet's axes. */
static void sample(struct input_caps *c)
{
    memset(c, 0, sizeof(*c));
    strcpy(c->name, "Razer DeathAdder");
    c->id = (struct input_id){BUS_USB, 0x1532, 0x0084, 0x0111};
    unsigned ev[] = {EV_SYN, EV_KEY, EV_REL, EV_ABS, EV_MSC, EV_LED, EV_REP, EV_FF};
    for (size_t i = 0; i < sizeof(ev) / sizeof(ev[0]); i++)
        input_bit_set(c->ev, ev[i], true);
    input_bit_set(c->key, KEY_A, true);
    input_bit_set(c->key, BTN_LEFT, true);
    input_bit_set(c->key, KEY_MAX, true);
    input_bit_set(c->rel, REL_WHEEL_HI_RES, true);
    input_bit_set(c->abs, ABS_X, true);
    input_bit_set(c->abs, ABS_MT_POSITION_Y, true);
    c->absinfo[ABS_X] = (struct input_absinfo){.minimum = -5, .maximum = 32767, .resolution = 12};
    c->absinfo[ABS_MT_POSITION_Y] = (struct input_absinfo){.maximum = 1000, .fuzz = 3, .flat = 2};
    input_bit_set(c->msc, MSC_SCAN, true);
    input_bit_set(c->led, LED_CAPSL, true);
    input_bit_set(c->prop, INPUT_PROP_POINTER, true);
}

static void test_round_trip(void **state)
{
    (void)state;
    struct input_caps a, b;
    sample(&a);
    cJSON *j = input_caps_to_json(&a);
    assert_non_null(j);
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    cJSON *back = cJSON_Parse(text);
    cJSON_free(text);
    assert_int_equal(input_caps_from_json(back, &b), 0);
    cJSON_Delete(back);
    assert_true(input_caps_equal(&a, &b));
    assert_int_equal(b.absinfo[ABS_X].minimum, -5);
    assert_int_equal(b.absinfo[ABS_MT_POSITION_Y].fuzz, 3);

    input_caps_generic(&a);
    j = input_caps_to_json(&a);
    assert_int_equal(input_caps_from_json(j, &b), 0);
    cJSON_Delete(j);
    assert_true(input_caps_equal(&a, &b));
    assert_true(input_bit(b.key, KEY_ENTER) && input_bit(b.key, BTN_SIDE));
    assert_true(input_bit(b.rel, REL_HWHEEL));
    assert_false(input_caps_empty(&b));
}

static void test_for_virtual(void **state)
{
    (void)state;
    struct input_caps c;
    sample(&c);
    input_caps_for_virtual(&c);
    /* No repeats of its own (the physical device's are passed on), no
     * force feedback (a request to it would wait on vmrun). */
    assert_false(input_bit(c.ev, EV_REP));
    assert_false(input_bit(c.ev, EV_FF));
    assert_true(input_bit(c.ev, EV_KEY) && input_bit(c.ev, EV_ABS) && input_bit(c.ev, EV_LED));
    assert_true(input_bit(c.key, KEY_A));
    /* A set goes with its type. */
    input_bit_set(c.ev, EV_ABS, false);
    input_caps_for_virtual(&c);
    assert_false(input_bit(c.abs, ABS_X));
    assert_int_equal(c.absinfo[ABS_X].maximum, 0);
}

static void test_merge(void **state)
{
    (void)state;
    struct input_caps kbd, mouse, all;
    memset(&kbd, 0, sizeof(kbd));
    strcpy(kbd.name, "receiver keyboard");
    input_bit_set(kbd.ev, EV_KEY, true);
    input_bit_set(kbd.key, KEY_A, true);
    memset(&mouse, 0, sizeof(mouse));
    strcpy(mouse.name, "receiver mouse");
    input_bit_set(mouse.ev, EV_REL, true);
    input_bit_set(mouse.rel, REL_X, true);
    input_bit_set(mouse.ev, EV_ABS, true);
    input_bit_set(mouse.abs, ABS_WHEEL, true);
    mouse.absinfo[ABS_WHEEL].maximum = 9;
    memset(&all, 0, sizeof(all));
    input_caps_merge(&all, &kbd);
    input_caps_merge(&all, &mouse);
    assert_string_equal(all.name, "receiver keyboard");
    assert_true(input_bit(all.key, KEY_A) && input_bit(all.rel, REL_X));
    assert_int_equal(all.absinfo[ABS_WHEEL].maximum, 9);
    assert_true(input_bit(all.ev, EV_KEY) && input_bit(all.ev, EV_REL));
}

static int parse(const char *text)
{
    cJSON *j = cJSON_Parse(text);
    struct input_caps c;
    int r = input_caps_from_json(j, &c);
    cJSON_Delete(j);
    return r;
}

static void test_damaged(void **state)
{
    (void)state;
    assert_int_equal(parse("{\"name\":\"k\",\"id\":[3,1,2,3],\"ev\":\"0300\",\"key\":\"00ff\"}"),
                     0);
    const char *bad[] = {
        "[]",
        "{\"id\":[3,1,2,3]}",                                            /* no name */
        "{\"name\":\"a\\u0007b\",\"id\":[3,1,2,3]}",                     /* a control character */
        "{\"name\":\"k\",\"id\":[3,1,2]}",                               /* three ids */
        "{\"name\":\"k\",\"id\":[3,1,2,65536]}",                         /* out of range */
        "{\"name\":\"k\",\"id\":[3,1,2,1.5]}",                           /* not whole */
        "{\"name\":\"k\",\"id\":[3,1,2,3],\"key\":\"0\"}",               /* odd hex */
        "{\"name\":\"k\",\"id\":[3,1,2,3],\"key\":\"zz\"}",              /* not hex */
        "{\"name\":\"k\",\"id\":[3,1,2,3],\"rel\":\"000000\"}",          /* longer than REL_MAX */
        "{\"name\":\"k\",\"id\":[3,1,2,3],\"key\":7}",                   /* not a string */
        "{\"name\":\"k\",\"id\":[3,1,2,3],\"abs\":\"01\"}",              /* an axis without range */
        "{\"name\":\"k\",\"id\":[3,1,2,3],\"absinfo\":[[0,0,1,0,0,0]]}", /* a range without axis */
        "{\"name\":\"k\",\"id\":[3,1,2,3],\"abs\":\"01\",\"absinfo\":[[0,5,1,0,0,0]]}",
        /* above: min > max */
        ("{\"name\":\"k\",\"id\":[3,1,2,3],\"abs\":\"01\",\"absinfo\":[[0,0,1,0,0,0],"
         "[0,0,1,0,0,0]]}"), /* twice */
        "{\"name\":\"k\",\"id\":[3,1,2,3],\"abs\":\"01\",\"absinfo\":[[64,0,1,0,0,0]]}",
        "{\"name\":\"k\",\"id\":[3,1,2,3],\"abs\":\"01\",\"absinfo\":[[0,0,3e10,0,0,0]]}",
        "{\"name\":\"k\",\"id\":[3,1,2,3],\"abs\":\"01\",\"absinfo\":{}}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parse(bad[i]) != -EINVAL)
            fail_msg("accepted: %s", bad[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_for_virtual),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_damaged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
