#include "fake_qmp_server.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* However wrong the client is, the server never waits longer than this for
 * it, so a broken client fails the test instead of hanging it. */
#define FAKE_IO_TIMEOUT_MS 5000
#define FAKE_MAX_COMMANDS 64

struct fake_server {
    pthread_t thread;
    pthread_t client_thread;
    const struct fake_step *script;
    int fd;
    const char *listen_path;
    int delay_ms;
    char *failure;
    char buf[65536];
    size_t len;
    cJSON *ids[FAKE_MAX_COMMANDS]; /* the ids of the commands received */
    int ncommands;
};

__attribute__((format(printf, 2, 3))) static int fail(struct fake_server *s, const char *fmt, ...)
{
    if (s->failure == NULL) {
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(&s->failure, fmt, ap) < 0)
            s->failure = NULL;
        va_end(ap);
    }
    return -1;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static int send_bytes(struct fake_server *s, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(s->fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            /* The client hung up first: what the test checks next will say
             * whether that was right, so this is not a failure by itself. */
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Read one line from the client. Returns 1 with *line, 0 on EOF, -1 on a
 * failure. */
static int read_line(struct fake_server *s, char **line)
{
    for (;;) {
        char *nl = memchr(s->buf, '\n', s->len);
        if (nl != NULL) {
            size_t n = (size_t)(nl - s->buf);
            *line = strndup(s->buf, n);
            memmove(s->buf, nl + 1, s->len - n - 1);
            s->len -= n + 1;
            return *line != NULL ? 1 : fail(s, "out of memory");
        }
        if (s->len == sizeof(s->buf))
            return fail(s, "client sent a line longer than %zu bytes", sizeof(s->buf));
        struct pollfd p = {.fd = s->fd, .events = POLLIN};
        int r = poll(&p, 1, FAKE_IO_TIMEOUT_MS);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return fail(s, "nothing from the client within %d ms", FAKE_IO_TIMEOUT_MS);
        ssize_t n = recv(s->fd, s->buf + s->len, sizeof(s->buf) - s->len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == ECONNRESET)
            return s->len == 0 ? 0 : fail(s, "client hung up mid-line");
        if (n < 0)
            return fail(s, "recv: %s", strerror(errno));
        if (n == 0)
            return s->len == 0 ? 0 : fail(s, "client hung up mid-line");
        s->len += (size_t)n;
    }
}

static int expect_command(struct fake_server *s, const struct fake_step *st)
{
    char *line = NULL;
    int r = read_line(s, &line);
    if (r == 0)
        return fail(s, "client hung up; expected command %s", st->text);
    if (r < 0)
        return -1;
    cJSON *cmd = cJSON_Parse(line);
    cJSON *expected_args = st->args != NULL ? cJSON_Parse(st->args) : NULL;
    const cJSON *exec = cJSON_GetObjectItemCaseSensitive(cmd, "execute");
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(cmd, "arguments");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(cmd, "id");
    r = 0;
    if (cmd == NULL || !cJSON_IsString(exec))
        r = fail(s, "expected command %s, got a line that is no command: %s", st->text, line);
    else if (strcmp(exec->valuestring, st->text) != 0)
        r = fail(s, "expected command %s, got: %s", st->text, line);
    else if (st->args != NULL && expected_args == NULL)
        r = fail(s, "the script's arguments for %s are not JSON", st->text);
    else if ((args == NULL) != (expected_args == NULL) ||
             (args != NULL && !cJSON_Compare(args, expected_args, 1)))
        r = fail(s, "command %s: expected arguments %s, got: %s", st->text,
                 st->args != NULL ? st->args : "none", line);
    else if (id == NULL)
        r = fail(s, "command %s has no id: %s", st->text, line);
    else if (s->ncommands == FAKE_MAX_COMMANDS)
        r = fail(s, "script too long");
    for (int i = 0; r == 0 && i < s->ncommands; i++)
        if (cJSON_Compare(s->ids[i], id, 1))
            r = fail(s, "command %s reuses the id of an earlier one: %s", st->text, line);
    if (r == 0)
        s->ids[s->ncommands++] = cJSON_Duplicate(id, 1);
    cJSON_Delete(expected_args);
    cJSON_Delete(cmd);
    free(line);
    return r;
}

static int send_split(struct fake_server *s, const char *p, size_t chunk);

static int send_reply(struct fake_server *s, const struct fake_step *st)
{
    size_t back = st->op == FAKE_REPLY ? st->n : 0;
    if ((size_t)s->ncommands <= back)
        return fail(s, "script error: no command %zu back to reply to", back);
    cJSON *reply = cJSON_Parse(st->text);
    if (reply == NULL)
        return fail(s, "script error: reply is not JSON: %s", st->text);
    cJSON_AddItemToObject(reply, "id", cJSON_Duplicate(s->ids[s->ncommands - 1 - back], 1));
    char *text = cJSON_PrintUnformatted(reply);
    cJSON_Delete(reply);
    char *line = NULL;
    if (text == NULL || asprintf(&line, "%s\r\n", text) < 0) {
        free(text);
        return fail(s, "out of memory");
    }
    free(text);
    int r = st->op == FAKE_REPLY ? send_bytes(s, line, strlen(line)) : send_split(s, line, st->n);
    free(line);
    return r;
}

static int send_split(struct fake_server *s, const char *p, size_t chunk)
{
    size_t left = strlen(p);
    while (left > 0) {
        size_t n = left < chunk ? left : chunk;
        if (send_bytes(s, p, n) < 0)
            return -1;
        p += n;
        left -= n;
        /* Long enough for the client to read each piece on its own. */
        sleep_ms(2);
    }
    return 0;
}

static int send_long(struct fake_server *s, const struct fake_step *st)
{
    char *line = malloc(st->n);
    if (line == NULL || st->n < 16)
        return fail(s, "script error: long line");
    memset(line, 'a', st->n);
    memcpy(line, "{\"return\": \"", 12);
    int r = send_bytes(s, line, st->n);
    free(line);
    return r == 0 ? send_bytes(s, "\"}\r\n", 4) : r;
}

static int send_events(struct fake_server *s, const struct fake_step *st)
{
    size_t cap = st->n * 128 + 1, len = 0;
    char *text = malloc(cap);
    if (text == NULL)
        return fail(s, "out of memory");
    for (size_t i = 0; i < st->n; i++)
        len += (size_t)snprintf(text + len, cap - len,
                                "{\"event\": \"EV\", \"data\": {\"n\": %zu}, \"timestamp\": "
                                "{\"seconds\": 1700000000, \"microseconds\": %zu}}\r\n",
                                i, i);
    int r = send_bytes(s, text, len);
    free(text);
    return r;
}

static int send_big_events(struct fake_server *s, const struct fake_step *st)
{
    enum { BLOB = 64 * 1024 };
    char *text = malloc(BLOB + 128);
    if (text == NULL)
        return fail(s, "out of memory");
    for (size_t i = 0; i < st->n; i++) {
        int len = snprintf(text, 64, "{\"event\": \"BIG\", \"data\": {\"n\": %zu, \"blob\": \"", i);
        memset(text + len, 'x', BLOB);
        len += BLOB;
        len += snprintf(text + len, 16, "\"}}\r\n");
        int r = send_bytes(s, text, (size_t)len);
        if (r != 0) {
            free(text);
            return r;
        }
    }
    free(text);
    return 0;
}

static int run_step(struct fake_server *s, const struct fake_step *st)
{
    switch (st->op) {
    case FAKE_END:
        return 0;
    case FAKE_SEND:
        return send_bytes(s, st->text, strlen(st->text));
    case FAKE_SEND_SPLIT:
        return send_split(s, st->text, st->n);
    case FAKE_SEND_LONG:
        return send_long(s, st);
    case FAKE_SEND_EVENTS:
        return send_events(s, st);
    case FAKE_SEND_BIG_EVENTS:
        return send_big_events(s, st);
    case FAKE_EXPECT:
        return expect_command(s, st);
    case FAKE_REPLY:
    case FAKE_REPLY_SPLIT:
        return send_reply(s, st);
    case FAKE_SLEEP:
        sleep_ms((long)st->n);
        return 0;
    case FAKE_SIGNAL:
        pthread_kill(s->client_thread, SIGUSR1);
        return 0;
    case FAKE_CLOSE:
        close(s->fd);
        s->fd = -1;
        return 1;
    }
    return fail(s, "script error: unknown step");
}

static int listen_and_accept(struct fake_server *s)
{
    sleep_ms(s->delay_ms);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", s->listen_path);
    int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l, 1) < 0) {
        if (l >= 0)
            close(l);
        return fail(s, "listen on %s: %s", s->listen_path, strerror(errno));
    }
    struct pollfd p = {.fd = l, .events = POLLIN};
    int r;
    while ((r = poll(&p, 1, FAKE_IO_TIMEOUT_MS)) < 0 && errno == EINTR)
        ;
    s->fd = r > 0 ? accept4(l, NULL, NULL, SOCK_CLOEXEC) : -1;
    close(l);
    return s->fd >= 0 ? 0 : fail(s, "no client connected to %s", s->listen_path);
}

static void *serve(void *opaque)
{
    struct fake_server *s = opaque;
    if (s->listen_path != NULL && listen_and_accept(s) < 0)
        return NULL;
    int r = 0;
    for (const struct fake_step *st = s->script; r == 0 && st->op != FAKE_END; st++)
        r = run_step(s, st);
    if (r == 0) {
        /* The script is done: the client may only hang up now. */
        char *line = NULL;
        if (read_line(s, &line) > 0)
            fail(s, "unexpected command after the end of the script: %s", line);
        free(line);
    }
    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
    return NULL;
}

static struct fake_server *start(struct fake_server *s)
{
    s->client_thread = pthread_self();
    if (pthread_create(&s->thread, NULL, serve, s) != 0) {
        free(s);
        return NULL;
    }
    return s;
}

struct fake_server *fake_server_start(const struct fake_step *script, int *client_fd)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return NULL;
    struct fake_server *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        close(sv[0]);
        close(sv[1]);
        return NULL;
    }
    s->script = script;
    s->fd = sv[1];
    *client_fd = sv[0];
    return start(s);
}

struct fake_server *fake_server_listen(const char *path, int delay_ms,
                                       const struct fake_step *script)
{
    struct fake_server *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->script = script;
    s->fd = -1;
    s->listen_path = path;
    s->delay_ms = delay_ms;
    return start(s);
}

char *fake_server_finish(struct fake_server *s)
{
    if (s == NULL)
        return strdup("the fake server did not start");
    pthread_join(s->thread, NULL);
    char *failure = s->failure;
    for (int i = 0; i < s->ncommands; i++)
        cJSON_Delete(s->ids[i]);
    free(s);
    return failure;
}
