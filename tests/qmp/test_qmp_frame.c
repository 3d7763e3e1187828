/* The pure half of the QMP client: framing bytes into lines, and lines into
 * messages. No sockets, no clocks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "qmp_frame.h"
#include "qmp_msg.h"

#define MAX_LINES 16

struct lines {
    int n;
    char *line[MAX_LINES];
    size_t len[MAX_LINES];
    int fail_at; /* the callback fails on this line (1-based); 0: never */
};

static int collect(void *opaque, char *line, size_t len)
{
    struct lines *l = opaque;
    assert_int_equal(strlen(line), len); /* NUL-terminated where it says */
    if (l->n + 1 == l->fail_at)
        return -ECANCELED;
    assert_true(l->n < MAX_LINES);
    l->line[l->n] = strndup(line, len);
    l->len[l->n] = len;
    l->n++;
    return 0;
}

static void lines_free(struct lines *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->line[i]);
    *l = (struct lines){0};
}

static int feed_str(struct qmp_framer *f, const char *s, struct lines *l)
{
    return qmp_framer_feed(f, s, strlen(s), collect, l);
}

static void test_frame_several_in_one_chunk(void **state)
{
    struct qmp_framer f;
    struct lines l = {0};
    qmp_framer_init(&f, 64);
    assert_int_equal(feed_str(&f, "{\"a\":1}\r\n{\"b\":2}\r\n{\"c\"", &l), 0);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.line[0], "{\"a\":1}");
    assert_string_equal(l.line[1], "{\"b\":2}");
    assert_int_equal(qmp_framer_pending(&f), 4);
    assert_int_equal(feed_str(&f, ":3}\r\n", &l), 0);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.line[2], "{\"c\":3}");
    assert_int_equal(qmp_framer_pending(&f), 0);
    lines_free(&l);
    qmp_framer_destroy(&f);
}

static void test_frame_byte_by_byte(void **state)
{
    const char *in = "{\"event\":\"STOP\"}\r\n{\"return\":{}}\n\r\n\n{\"x\":\"\\r\"}\r\n";
    struct qmp_framer f;
    struct lines l = {0};
    qmp_framer_init(&f, 64);
    for (size_t i = 0; in[i] != '\0'; i++)
        assert_int_equal(qmp_framer_feed(&f, in + i, 1, collect, &l), 0);
    /* Bare "\n" ends a line too; empty lines are skipped. */
    assert_int_equal(l.n, 3);
    assert_string_equal(l.line[0], "{\"event\":\"STOP\"}");
    assert_string_equal(l.line[1], "{\"return\":{}}");
    assert_string_equal(l.line[2], "{\"x\":\"\\r\"}");
    lines_free(&l);
    qmp_framer_destroy(&f);
}

static void test_frame_cr_split_from_lf(void **state)
{
    struct qmp_framer f;
    struct lines l = {0};
    qmp_framer_init(&f, 8);
    assert_int_equal(feed_str(&f, "12345678\r", &l), 0);
    assert_int_equal(l.n, 0);
    assert_int_equal(feed_str(&f, "\n", &l), 0);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.line[0], "12345678");
    /* Only the one '\r' before '\n' is the terminator's. */
    assert_int_equal(feed_str(&f, "a\rb\r\r\n", &l), 0);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.line[1], "a\rb\r");
    lines_free(&l);
    qmp_framer_destroy(&f);
}

static void test_frame_max_length_boundary(void **state)
{
    struct qmp_framer f;
    struct lines l = {0};
    qmp_framer_init(&f, 8);
    assert_int_equal(feed_str(&f, "12345678\n", &l), 0); /* exactly max: fine */
    assert_int_equal(l.n, 1);
    assert_int_equal(feed_str(&f, "123456789\r\n", &l), -EMSGSIZE);
    assert_int_equal(l.n, 1);
    /* Stopped for good: the stream cannot be trusted any more. */
    assert_int_equal(feed_str(&f, "{}\n", &l), -EMSGSIZE);
    assert_int_equal(l.n, 1);
    lines_free(&l);
    qmp_framer_destroy(&f);
}

static void test_frame_overlong_without_newline(void **state)
{
    struct qmp_framer f;
    struct lines l = {0};
    qmp_framer_init(&f, 100);
    char chunk[40];
    memset(chunk, 'x', sizeof(chunk));
    int r = 0, chunks = 0;
    /* Bounded however long the stream: the error comes as soon as the line
     * cannot fit any more, and the buffer never grew past max + 2. */
    while (r == 0 && chunks < 1000) {
        r = qmp_framer_feed(&f, chunk, sizeof(chunk), collect, &l);
        chunks++;
    }
    assert_int_equal(r, -EMSGSIZE);
    assert_int_equal(chunks, 3);
    assert_true(f.cap <= 102);
    assert_int_equal(l.n, 0);
    lines_free(&l);
    qmp_framer_destroy(&f);
}

static void test_frame_callback_error_stops(void **state)
{
    struct qmp_framer f;
    struct lines l = {.fail_at = 2};
    qmp_framer_init(&f, 64);
    assert_int_equal(feed_str(&f, "a\nb\nc\n", &l), -ECANCELED);
    assert_int_equal(l.n, 1);
    assert_int_equal(feed_str(&f, "d\n", &l), -ECANCELED);
    assert_int_equal(l.n, 1);
    lines_free(&l);
    qmp_framer_destroy(&f);
}

static void parse_ok(const char *line, struct qmp_msg *m)
{
    const char *why = NULL;
    int r = qmp_msg_parse(line, strlen(line), m, &why);
    if (r != 0)
        fail_msg("%s: %s", line, why);
}

static void parse_bad(const char *line)
{
    struct qmp_msg m;
    const char *why = NULL;
    assert_int_equal(qmp_msg_parse(line, strlen(line), &m, &why), -EBADMSG);
    assert_non_null(why);
    assert_null(m.root);
}

static void test_msg_greeting(void **state)
{
    struct qmp_msg m;
    parse_ok("{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 3, \"minor\": 2, \"major\": 7}, "
             "\"package\": \"\"}, \"capabilities\": [\"oob\"]}}",
             &m);
    assert_int_equal(m.kind, QMP_MSG_GREETING);
    assert_int_equal(m.major, 7);
    assert_int_equal(m.minor, 2);
    assert_int_equal(m.micro, 3);
    qmp_msg_free(&m);
    parse_bad("{\"QMP\": {\"version\": {}}}");
    parse_bad("{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": -7}}}}");
    parse_bad(
        "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 1e300}}}}");
    parse_bad("{\"QMP\": 1}");
}

static void test_msg_return(void **state)
{
    struct qmp_msg m;
    parse_ok("{\"return\": {\"status\": \"running\"}, \"id\": 42}", &m);
    assert_int_equal(m.kind, QMP_MSG_RETURN);
    assert_true(qmp_msg_id_is(m.id, 42));
    assert_false(qmp_msg_id_is(m.id, 43));
    assert_string_equal(cJSON_GetObjectItem(m.value, "status")->valuestring, "running");
    qmp_msg_free(&m);

    parse_ok("{\"return\": [], \"id\": \"42\"}", &m); /* an id we never send */
    assert_int_equal(m.kind, QMP_MSG_RETURN);
    assert_false(qmp_msg_id_is(m.id, 42));
    qmp_msg_free(&m);

    parse_ok("  {\"return\": 5}  \r", &m);
    assert_int_equal(m.kind, QMP_MSG_RETURN);
    assert_null(m.id);
    qmp_msg_free(&m);
}

static void test_msg_error(void **state)
{
    struct qmp_msg m;
    parse_ok("{\"id\": 7, \"error\": {\"class\": \"DeviceNotFound\", \"desc\": \"no such\"}}", &m);
    assert_int_equal(m.kind, QMP_MSG_ERROR);
    assert_true(qmp_msg_id_is(m.id, 7));
    assert_string_equal(m.err_class, "DeviceNotFound");
    assert_string_equal(m.desc, "no such");
    qmp_msg_free(&m);

    parse_ok("{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error\"}}", &m);
    assert_int_equal(m.kind, QMP_MSG_ERROR);
    assert_null(m.id);
    qmp_msg_free(&m);

    parse_bad("{\"error\": {\"class\": \"GenericError\"}, \"id\": 1}");
    parse_bad("{\"error\": {\"class\": 1, \"desc\": \"x\"}}");
    parse_bad("{\"error\": \"oops\"}");
}

static void test_msg_event(void **state)
{
    struct qmp_msg m;
    parse_ok(
        "{\"timestamp\": {\"seconds\": 1700000000, \"microseconds\": 123456}, "
        "\"event\": \"SHUTDOWN\", \"data\": {\"guest\": true, \"reason\": \"guest-shutdown\"}}",
        &m);
    assert_int_equal(m.kind, QMP_MSG_EVENT);
    assert_string_equal(m.event, "SHUTDOWN");
    assert_int_equal(m.ts_sec, 1700000000);
    assert_int_equal(m.ts_usec, 123456);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(m.data, "guest")));
    qmp_msg_free(&m);

    parse_ok("{\"event\": \"STOP\", \"timestamp\": {\"seconds\": 1e300}}", &m);
    assert_null(m.data);
    assert_int_equal(m.ts_sec, 0); /* out of range: not trusted */
    qmp_msg_free(&m);

    parse_bad("{\"event\": 5}");
    parse_bad("{\"event\": \"X\", \"data\": 5}");
    parse_bad("{\"event\": \"X\", \"timestamp\": []}");
}

static void test_msg_not_qmp(void **state)
{
    parse_bad("");
    parse_bad("{");
    parse_bad("{not json}");
    parse_bad("[]");
    parse_bad("\"return\"");
    parse_bad("{}");
    parse_bad("{\"id\": 1}");
    parse_bad("{\"return\": {}, \"id\": 1} {\"return\": {}}");
    parse_bad("{\"return\": {}, \"error\": {\"class\": \"a\", \"desc\": \"b\"}}");
    parse_bad("{\"event\": \"STOP\", \"return\": {}}");

    /* An embedded NUL ends nothing early: the bytes after it are trailing
     * data, not ignored. */
    struct qmp_msg m;
    const char why_nul[] = "{\"return\": {}}\0{\"x\"";
    assert_int_equal(qmp_msg_parse(why_nul, sizeof(why_nul) - 1, &m, NULL), -EBADMSG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame_several_in_one_chunk),
        cmocka_unit_test(test_frame_byte_by_byte),
        cmocka_unit_test(test_frame_cr_split_from_lf),
        cmocka_unit_test(test_frame_max_length_boundary),
        cmocka_unit_test(test_frame_overlong_without_newline),
        cmocka_unit_test(test_frame_callback_error_stops),
        cmocka_unit_test(test_msg_greeting),
        cmocka_unit_test(test_msg_return),
        cmocka_unit_test(test_msg_error),
        cmocka_unit_test(test_msg_event),
        cmocka_unit_test(test_msg_not_qmp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
