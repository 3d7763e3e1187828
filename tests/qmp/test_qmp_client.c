/* The QMP client against a scripted fake server on a socketpair: the
 * protocol's state machine, its errors and its deadlines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fake_qmp_server.h"
#include "qmp.h"

/* Generous: a passing test never waits for it; a broken one fails on it. */
#define T_LONG 5000

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Start the fake server and open a client on it. */
static struct qmp_client *open_scripted(const struct fake_step *script, struct fake_server **srv)
{
    int fd = -1;
    *srv = fake_server_start(script, &fd);
    assert_non_null(*srv);
    struct qmp_client *c = NULL;
    int r = qmp_open_fd(fd, T_LONG, &c);
    if (r != 0)
        fail_msg("qmp_open_fd: %d %s", r, qmp_last_error(NULL));
    return c;
}

static const char *str_member(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    assert_true(cJSON_IsString(v));
    return v->valuestring;
}

static void expect_event(struct qmp_client *c, const char *name)
{
    struct qmp_event ev;
    assert_int_equal(qmp_next_event(c, &ev), 1);
    assert_string_equal(ev.name, name);
    qmp_event_free(&ev);
}

static void test_greeting_and_capabilities(void **state)
{
    static const struct fake_step script[] = {F_GREETING, F_CAPABILITIES, F_END()};
    struct fake_server *srv;
    struct qmp_client *c = open_scripted(script, &srv);
    int major, minor, micro;
    qmp_version(c, &major, &minor, &micro);
    assert_int_equal(major, 7);
    assert_int_equal(minor, 2);
    assert_int_equal(micro, 1);
    assert_true(qmp_fd(c) >= 0);
    struct qmp_event ev;
    assert_int_equal(qmp_next_event(c, &ev), 0);
    qmp_close(c);
    assert_fake_server_ok(srv);
}

static void test_execute_with_arguments(void **state)
{
    static const struct fake_step script[] = {
        F_GREETING,
        F_CAPABILITIES,
        F_EXPECT("set_link", "{\"name\": \"net0\", \"up\": false}"),
        F_REPLY("{\"return\": {}}"),
        F_EXPECT("query-status", NULL),
        F_REPLY("{\"return\": {\"status\": \"running\", \"running\": true}}"),
        F_END(),
    };
    struct fake_server *srv;
    struct qmp_client *c = open_scripted(script, &srv);
    cJSON *args = cJSON_CreateObject();
    cJSON_AddStringToObject(args, "name", "net0");
    cJSON_AddFalseToObject(args, "up");
    cJSON *ret = NULL;
    assert_int_equal(qmp_execute(c, "set_link", args, &ret, T_LONG), 0);
    assert_true(cJSON_IsObject(ret));
    cJSON_Delete(ret);
    assert_int_equal(qmp_execute(c, "query-status", NULL, &ret, T_LONG), 0);
    assert_string_equal(str_member(ret, "status"), "running");
    cJSON_Delete(ret);
    qmp_close(c);
    assert_fake_server_ok(srv);
}

static void test_events_before_reply_are_queued_in_order(void **state)
{
    static const struct fake_step script[] = {
        F_GREETING,
        F_CAPABILITIES,
        F_EXPECT("stop", NULL),
        F_SEND("{\"event\": \"STOP\", \"timestamp\": {\"seconds\": 1700000001, \"microseconds\": "
               "5}}\r\n"),
        F_SLEEP(20),
        F_SEND("{\"event\": \"RESET\", \"data\": {\"guest\": true, \"reason\": \"guest-reset\"}, "
               "\"timestamp\": {\"seconds\": 1700000002, \"microseconds\": 6}}\r\n"),
        F_REPLY("{\"return\": {}}"),
        F_SEND("{\"event\": \"POWERDOWN\", \"timestamp\": {\"seconds\": 3, \"microseconds\": "
               "7}}\r\n"),
        F_END(),
    };
    struct fake_server *srv;
    struct qmp_client *c = open_scripted(script, &srv);
    assert_int_equal(qmp_execute(c, "stop", NULL, NULL, T_LONG), 0);

    struct qmp_event ev;
    assert_int_equal(qmp_next_event(c, &ev), 1);
    assert_string_equal(ev.name, "STOP");
    assert_null(ev.data);
    assert_int_equal(ev.ts_sec, 1700000001);
    assert_int_equal(ev.ts_usec, 5);
    qmp_event_free(&ev);
    assert_int_equal(qmp_next_event(c, &ev), 1);
    assert_string_equal(ev.name, "RESET");
    assert_string_equal(str_member(ev.data, "reason"), "guest-reset");
    assert_int_equal(ev.ts_sec, 1700000002);
    qmp_event_free(&ev);
    /* The event after the reply comes when waited for. */
    assert_int_equal(qmp_wait_event(c, T_LONG), 1);
    expect_event(c, "POWERDOWN");
    assert_int_equal(qmp_next_event(c, &ev), 0);
    qmp_close(c);
    assert_fake_server_ok(srv);
}

static void test_reply_with_unknown_id_is_dropped(void **state)
{
    static const struct fake_step script[] = {
        F_GREETING,
        F_CAPABILITIES,
        F_EXPECT("query-status", NULL),
        F_SEND(
            "{\"return\": {\"status\": \"wrong\"}, \"id\": 424242}\r\n"
            "{\"return\": {\"status\": \"wrong\"}, \"id\": \"2\"}\r\n"
            "{\"return\": {\"status\": \"wrong\"}}\r\n"
            "{\"error\": {\"class\": \"GenericError\", \"desc\": \"not ours\"}, \"id\": 99}\r\n"),
        F_REPLY("{\"return\": {\"status\": \"paused\"}}"),
        F_END(),
    };
    struct fake_server *srv;
    struct qmp_client *c = open_scripted(script, &srv);
    cJSON *ret = NULL;
    assert_int_equal(qmp_execute(c, "query-status", NULL, &ret, T_LONG), 0);
    assert_string_equal(str_member(ret, "status"), "paused");
    cJSON_Delete(ret);
    qmp_close(c);
    assert_fake_server_ok(srv);
}

static void test_error_reply(void **state)
{
    static const struct fake_step script[] = {
        F_GREETING,
        F_CAPABILITIES,
        F_EXPECT("device_del", "{\"id\": \"nope\"}"),
        F_REPLY("{\"error\": {\"class\": \"DeviceNotFound\", \"desc\": \"Device 'nope' not "
                "found\"}}"),
        F_EXPECT("query-status", NULL),
        F_REPLY("{\"return\": {\"status\": \"running\"}}"),
        F_END(),
    };
    struct fake_server *srv;
    struct qmp_client *c = open_scripted(script, &srv);
    cJSON *args = cJSON_CreateObject();
    cJSON_AddStringToObject(args, "id", "nope");
    cJSON *ret = (cJSON *)1;
    assert_int_equal(qmp_execute(c, "device_del", args, &ret, T_LONG), -EREMOTEIO);
    assert_null(ret);
    assert_non_null(strstr(qmp_last_error(c), "device_del"));
    assert_non_null(strstr(qmp_last_error(c), "DeviceNotFound"));
    assert_non_null(strstr(qmp_last_error(c), "Device 'nope' not found"));
    /* A command's failure is not the session's. */
    assert_int_equal(qmp_execute(c, "query-status", NULL, &ret, T_LONG), 0);
    cJSON_Delete(ret);
    qmp_close(c);
    assert_fake_server_ok(srv);
}

static void test_error_without_id_ends_session(void **state)
{
    static const struct fake_step script[] = {
        F_GREETING,
        F_CAPABILITIES,
        F_EXPECT("query-status", NULL),
        F_SEND("{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, "
               "invalid keyword 'x'\"}}\r\n"),
        F_END(), /* any further command is a failure */
    };
    struct fake_server *srv;
    struct qmp_client *c = open_scripted(script, &srv);
    assert_int_equal(qmp_execute(c, "query-status", NULL, NULL, T_LONG), -EPROTO);
    assert_non_null(strstr(qmp_last_error(c), "JSON parse error"));
    assert_int_equal(qmp_execute(c, "cont", NULL, NULL, T_LONG), -EPROTO);
    assert_non_null(strstr(qmp_last_error(c), "JSON parse error"));
    assert_int_equal(qmp_pump(c), -EPROTO);
    qmp_close(c);
    assert_fake_server_ok(srv);
}

static void test_close_mid_call(void **state)
{
    static const struct fake_step script[] = {
        F_GREETING,
        F_CAPABILITIES,
        F_EXPECT("system_powerdown", NULL),
        F_SEND("{\"event\": \"SHUTDOWN\", \"data\": {\"guest\": true, \"reason\": "
               "\"guest-shutdown\"}, \"timestamp\": {\"seconds\": 1, \"microseconds\": 2}}\r\n"),
        F_CLOSE(),
    };
    struct fake_server *srv;
    struct qmp_client *c = open_scripted(script, &srv);
    long long t0 = now_ms();
    int r = qmp_execute(c, "system_powerdown", NULL, NULL, T_LONG);
    assert_true(r == -EPIPE || r == -ECONNRESET);
    assert_true(now_ms() - t0 < T_LONG / 2); /* the close, not the timeout */
    assert_non_null(strstr(qmp_last_error(c), "system_powerdown"));
    /* What came before the close is still there. */
    assert_int_equal(qmp_wait_event(c, 0), 1);
    expect_event(c, "SHUTDOWN");
    assert_int_equal(qmp_wait_event(c, 0), r);
    assert_int_equal(qmp_execute(c, "query-status", NULL, NULL, T_LONG), r);
    assert_int_equal(qmp_pump(c), r);
    qmp_close(c);
    assert_fake_server_ok(srv);
}

static void test_timeout_then_late_reply_dropped(void **state)
{
    static const struct fake_step script[] = {
        F_GREETING,
        F_CAPABILITIES,
        F_EXPECT("query-status", NULL), /* answered too late, between commands */
        F_SLEEP(400),
        F_REPLY("{\"return\": {\"status\": \"late\"}}"),
        F_SEND("{\"event\": \"STOP\"}\r\n"),
        F_EXPECT("query-kvm", NULL), /* answered too late, during the next one */
        F_EXPECT("query-name", NULL),
        F_REPLY_TO(1, "{\"return\": {\"name\": \"late reply to query-kvm\"}}"),
        F_REPLY("{\"return\": {\"name\": \"gaming\"}}"),
        F_END(),
    };
    struct fake_server *srv;
    struct qmp_client *c = open_scripted(script, &srv);
    long long t0 = now_ms();
    assert_int_equal(qmp_execute(c, "query-status", NULL, NULL, 200), -ETIMEDOUT);
    long long took = now_ms() - t0;
    assert_true(took >= 200);
    assert_true(took < 2000);
    assert_non_null(strstr(qmp_last_error(c), "query-status"));
    /* The late reply is read (and must be dropped, not kept: the sanitizer
     * build sees a leak otherwise) before the event behind it. */
    assert_int_equal(qmp_wait_event(c, T_LONG), 1);
    expect_event(c, "STOP");

    assert_int_equal(qmp_execute(c, "query-kvm", NULL, NULL, 200), -ETIMEDOUT);
    cJSON *ret = NULL;
    assert_int_equal(qmp_execute(c, "query-name", NULL, &ret, T_LONG), 0);
    assert_string_equal(str_member(ret, "name"), "gaming");
    cJSON_Delete(ret);
    qmp_close(c);
    assert_fake_server_ok(srv);
}

static void test_greeting_timeout(void **state)
{
    static const struct fake_step script[] = {F_END()};
    int fd = -1;
    struct fake_server *srv = fake_server_start(script, &fd);
    assert_non_null(srv);
    struct qmp_client *c = NULL;
    long long t0 = now_ms();
    assert_int_equal(qmp_open_fd(fd, 200, &c), -ETIMEDOUT);
    assert_true(now_ms() - t0 >= 200);
    assert_null(c);
    assert_non_null(strstr(qmp_last_error(NULL), "greeting"));
    assert_fake_server_ok(srv); /* qmp_open_fd closed the fd on failure */
}

static void test_split_messages(void **state)
{
    static const struct fake_step script[] = {
        F_SPLIT(F_GREETING_TEXT, 7),
        F_CAPABILITIES,
        F_EXPECT("query-status", NULL),
        /* Pieces of 5 bytes: some end inside "\r\n", some hold the end of
         * one message and the start of the next. */
        F_SPLIT("{\"event\": \"RESUME\", \"timestamp\": {\"seconds\": 1, \"microseconds\": 2}}\r"
                "\n{\"event\": \"STOP\"}\r\n",
                5),
        F_REPLY_SPLIT("{\"return\": {\"status\": \"running\"}}", 1),
        F_END(),
    };
    struct fake_server *srv;
    struct qmp_client *c = open_scripted(script, &srv);
    int major, minor, micro;
    qmp_version(c, &major, &minor, &micro);
    assert_int_equal(minor, 2);
    cJSON *ret = NULL;
    assert_int_equal(qmp_execute(c, "query-status", NULL, &ret, T_LONG), 0);
    assert_string_equal(str_member(ret, "status"), "running");
    cJSON_Delete(ret);
    expect_event(c, "RESUME");
    expect_event(c, "STOP");
    qmp_close(c);
    assert_fake_server_ok(srv);
}

static void test_many_messages_in_one_write(void **state)
{
    static const struct fake_step script[] = {
        F_GREETING,
        F_CAPABILITIES,
        F_EXPECT("query-status", NULL),
        F_EVENTS(200),
        F_REPLY("{\"return\": {\"status\": \"running\"}}"),
        F_END(),
    };
    struct fake_server *srv;
    struct qmp_client *c = open_scripted(script, &srv);
    assert_int_equal(qmp_execute(c, "query-status", NULL, NULL, T_LONG), 0);
    for (int i = 0; i < 200; i++) {
        struct qmp_event ev;
        assert_int_equal(qmp_next_event(c, &ev), 1);
        assert_string_equal(ev.name, "EV");
        assert_int_equal(cJSON_GetObjectItem(ev.data, "n")->valueint, i);
        assert_int_equal(ev.ts_usec, i);
        qmp_event_free(&ev);
    }
    struct qmp_event ev;
    assert_int_equal(qmp_next_event(c, &ev), 0);
    qmp_close(c);
    assert_fake_server_ok(srv);
}

static void test_event_queue_is_bounded(void **state)
{
    static const struct fake_step script[] = {
        F_GREETING,
        F_CAPABILITIES,
        F_EXPECT("query-status", NULL),
        F_EVENTS(QMP_MAX_QUEUED_EVENTS + 10),
        F_REPLY("{\"return\": {}}"),
        F_END(),
    };
    struct fake_server *srv;
    struct qmp_client *c = open_scripted(script, &srv);
    assert_int_equal(qmp_execute(c, "query-status", NULL, NULL, T_LONG), 0);
    int n = 0;
    struct qmp_event ev;
    while (qmp_next_event(c, &ev) == 1) {
        /* The oldest were dropped. */
        assert_int_equal(cJSON_GetObjectItem(ev.data, "n")->valueint, n + 10);
        qmp_event_free(&ev);
        n++;
    }
    assert_int_equal(n, QMP_MAX_QUEUED_EVENTS);
    qmp_close(c);
    assert_fake_server_ok(srv);
}

/* A QEMU that floods big events: each keeps its name but not its data, and
 * the queue stays within QMP_MAX_QUEUED_BYTES however many arrive; the
 * reply still comes through. */
static void test_big_events_are_bounded_in_bytes(void **state)
{
    static const struct fake_step script[] = {
        F_GREETING,
        F_CAPABILITIES,
        F_EXPECT("query-status", NULL),
        F_BIG_EVENTS(QMP_MAX_QUEUED_EVENTS + 44), /* 19 MiB */
        F_SEND("{\"event\": \"SMALL\", \"data\": {\"guest\": true}}\r\n"),
        F_REPLY("{\"return\": {}}"),
        F_END(),
    };
    struct fake_server *srv;
    struct qmp_client *c = open_scripted(script, &srv);
    assert_int_equal(qmp_execute(c, "query-status", NULL, NULL, T_LONG), 0);
    int big = 0, small = 0;
    struct qmp_event ev;
    while (qmp_next_event(c, &ev) == 1) {
        if (strcmp(ev.name, "BIG") == 0) {
            assert_null(ev.data);
            big++;
        } else {
            assert_string_equal(ev.name, "SMALL");
            assert_true(cJSON_IsTrue(cJSON_GetObjectItem(ev.data, "guest")));
            small++;
        }
        qmp_event_free(&ev);
    }
    assert_int_equal(small, 1);
    assert_int_equal(big, QMP_MAX_QUEUED_EVENTS - 1); /* the newest, with SMALL */
    qmp_close(c);
    assert_fake_server_ok(srv);
}

static void test_overlong_line(void **state)
{
    static const struct fake_step script[] = {
        F_GREETING, F_CAPABILITIES, F_EXPECT("query-status", NULL), F_LONG(QMP_MAX_MESSAGE + 1),
        F_END(),
    };
    struct fake_server *srv;
    struct qmp_client *c = open_scripted(script, &srv);
    assert_int_equal(qmp_execute(c, "query-status", NULL, NULL, T_LONG), -EMSGSIZE);
    assert_int_equal(qmp_execute(c, "query-status", NULL, NULL, T_LONG), -EMSGSIZE);
    qmp_close(c);
    assert_fake_server_ok(srv);
}

static void test_longest_line_accepted(void **state)
{
    static const struct fake_step script[] = {
        F_GREETING,
        F_CAPABILITIES,
        F_EXPECT("query-status", NULL),
        F_LONG(QMP_MAX_MESSAGE - 2), /* + "\"}" = the longest line */
        F_SEND("{\"event\": \"STOP\"}\r\n"),
        F_END(),
    };
    struct fake_server *srv;
    struct qmp_client *c = open_scripted(script, &srv);
    /* A reply without id: dropped, the session goes on. */
    assert_int_equal(qmp_execute(c, "query-status", NULL, NULL, 300), -ETIMEDOUT);
    expect_event(c, "STOP");
    qmp_close(c);
    assert_fake_server_ok(srv);
}

static void test_invalid_json_ends_session(void **state)
{
    static const struct fake_step script[] = {
        F_GREETING,
        F_CAPABILITIES,
        F_EXPECT("query-status", NULL),
        F_SEND("{\"return\": {\"status\": running}}\r\n"),
        F_END(),
    };
    struct fake_server *srv;
    struct qmp_client *c = open_scripted(script, &srv);
    assert_int_equal(qmp_execute(c, "query-status", NULL, NULL, T_LONG), -EBADMSG);
    assert_non_null(strstr(qmp_last_error(c), "invalid JSON"));
    qmp_close(c);
    assert_fake_server_ok(srv);
}

static volatile sig_atomic_t signals_seen;

static void on_sigusr1(int sig)
{
    signals_seen++;
}

static void test_signals_do_not_break_a_call(void **state)
{
    static const struct fake_step script[] = {
        F_GREETING,
        F_CAPABILITIES,
        F_EXPECT("query-status", NULL),
        F_SIGNAL(),
        F_SLEEP(50),
        F_SIGNAL(),
        F_SLEEP(50),
        F_REPLY("{\"return\": {\"status\": \"running\"}}"),
        F_END(),
    };
    /* No SA_RESTART: poll() sees EINTR, as in the supervisor. */
    struct sigaction sa = {.sa_handler = on_sigusr1}, old;
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGUSR1, &sa, &old), 0);
    signals_seen = 0;

    struct fake_server *srv;
    struct qmp_client *c = open_scripted(script, &srv);
    cJSON *ret = NULL;
    assert_int_equal(qmp_execute(c, "query-status", NULL, &ret, T_LONG), 0);
    assert_string_equal(str_member(ret, "status"), "running");
    cJSON_Delete(ret);
    assert_int_equal(signals_seen, 2);
    qmp_close(c);
    assert_fake_server_ok(srv);
    sigaction(SIGUSR1, &old, NULL);
}

static void test_wait_event_and_pump(void **state)
{
    static const struct fake_step script[] = {
        F_GREETING,
        F_CAPABILITIES,
        F_SLEEP(200),
        F_SEND("{\"event\": \"POWERDOWN\", \"timestamp\": {\"seconds\": 1, \"microseconds\": "
               "2}}\r\n"),
        F_SLEEP(300),
        F_SEND("{\"event\": \"SHUTDOWN\", \"data\": {\"guest\": true, \"reason\": "
               "\"guest-shutdown\"}, \"timestamp\": {\"seconds\": 1, \"microseconds\": 3}}\r\n"),
        F_CLOSE(),
    };
    struct fake_server *srv;
    struct qmp_client *c = open_scripted(script, &srv);
    assert_int_equal(qmp_wait_event(c, 0), 0);
    assert_int_equal(qmp_wait_event(c, T_LONG), 1);
    expect_event(c, "POWERDOWN");
    long long t0 = now_ms();
    assert_int_equal(qmp_wait_event(c, 100), 0);
    assert_true(now_ms() - t0 >= 100);

    /* The supervisor's way: poll the fd, then pump. */
    int r = 0;
    for (int i = 0; i < 10 && r == 0; i++) {
        struct pollfd p = {.fd = qmp_fd(c), .events = POLLIN};
        assert_int_equal(poll(&p, 1, T_LONG), 1);
        r = qmp_pump(c);
    }
    assert_true(r == -EPIPE || r == -ECONNRESET);
    expect_event(c, "SHUTDOWN");
    assert_int_equal(qmp_wait_event(c, 0), r);
    qmp_close(c);
    assert_fake_server_ok(srv);
}

/* The harness itself must be able to fail a test, or no test here could. */
static void test_fake_server_catches_unexpected_command(void **state)
{
    static const struct fake_step script[] = {
        F_GREETING, F_CAPABILITIES, F_EXPECT("stop", NULL), F_REPLY("{\"return\": {}}"), F_END(),
    };
    int fd = -1;
    struct fake_server *srv = fake_server_start(script, &fd);
    struct qmp_client *c = NULL;
    assert_int_equal(qmp_open_fd(fd, T_LONG, &c), 0);
    int r = qmp_execute(c, "cont", NULL, NULL, T_LONG);
    assert_true(r == -EPIPE || r == -ECONNRESET);
    qmp_close(c);
    char *failure = fake_server_finish(srv);
    assert_non_null(failure);
    assert_non_null(strstr(failure, "\"cont\""));
    free(failure);

    static const struct fake_step script_args[] = {
        F_GREETING,
        F_CAPABILITIES,
        F_EXPECT("set_link", "{\"name\": \"net0\", \"up\": true}"),
        F_REPLY("{\"return\": {}}"),
        F_END(),
    };
    srv = fake_server_start(script_args, &fd);
    assert_int_equal(qmp_open_fd(fd, T_LONG, &c), 0);
    cJSON *args = cJSON_CreateObject();
    cJSON_AddStringToObject(args, "name", "net0");
    cJSON_AddFalseToObject(args, "up");
    r = qmp_execute(c, "set_link", args, NULL, T_LONG);
    assert_true(r == -EPIPE || r == -ECONNRESET);
    qmp_close(c);
    failure = fake_server_finish(srv);
    assert_non_null(failure);
    assert_non_null(strstr(failure, "arguments"));
    free(failure);
}

static void test_bad_arguments(void **state)
{
    static const struct fake_step script[] = {F_GREETING, F_CAPABILITIES, F_END()};
    struct fake_server *srv;
    struct qmp_client *c = open_scripted(script, &srv);
    /* Not an object: refused before anything is sent, and freed. */
    assert_int_equal(qmp_execute(c, "cont", cJSON_CreateArray(), NULL, T_LONG), -EINVAL);
    qmp_close(c);
    assert_fake_server_ok(srv);
}

static void test_connect_waits_for_the_socket(void **state)
{
    static const struct fake_step script[] = {F_GREETING, F_CAPABILITIES, F_END()};
    char dir[] = "/tmp/vmrun-qmp-test.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof(path), "%s/qmp.sock", dir);

    /* Nothing there: the last connect error once the time is up. */
    struct qmp_client *c = NULL;
    long long t0 = now_ms();
    assert_int_equal(qmp_connect(path, 100, &c), -ENOENT);
    assert_true(now_ms() - t0 >= 100);
    assert_non_null(strstr(qmp_last_error(NULL), path));

    /* The socket appears 150 ms later, as QEMU's does. */
    struct fake_server *srv = fake_server_listen(path, 150, script);
    assert_non_null(srv);
    assert_int_equal(qmp_connect(path, T_LONG, &c), 0);
    int major;
    qmp_version(c, &major, NULL, NULL);
    assert_int_equal(major, 7);
    qmp_close(c);
    assert_fake_server_ok(srv);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_greeting_and_capabilities),
        cmocka_unit_test(test_execute_with_arguments),
        cmocka_unit_test(test_events_before_reply_are_queued_in_order),
        cmocka_unit_test(test_reply_with_unknown_id_is_dropped),
        cmocka_unit_test(test_error_reply),
        cmocka_unit_test(test_error_without_id_ends_session),
        cmocka_unit_test(test_close_mid_call),
        cmocka_unit_test(test_timeout_then_late_reply_dropped),
        cmocka_unit_test(test_greeting_timeout),
        cmocka_unit_test(test_split_messages),
        cmocka_unit_test(test_many_messages_in_one_write),
        cmocka_unit_test(test_event_queue_is_bounded),
        cmocka_unit_test(test_big_events_are_bounded_in_bytes),
        cmocka_unit_test(test_overlong_line),
        cmocka_unit_test(test_longest_line_accepted),
        cmocka_unit_test(test_invalid_json_ends_session),
        cmocka_unit_test(test_signals_do_not_break_a_call),
        cmocka_unit_test(test_wait_event_and_pump),
        cmocka_unit_test(test_fake_server_catches_unexpected_command),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_connect_waits_for_the_socket),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
