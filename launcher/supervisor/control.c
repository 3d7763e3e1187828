/* The supervisor's request channel (control.h). */
#include "supervisor/control.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "supervisor/runtime.h"

static int socket_address(const char *path, struct sockaddr_un *sa, struct vmrun_error *err)
{
    *sa = (struct sockaddr_un){.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa->sun_path))
        return vmrun_failx(err, ENAMETOOLONG, "%s: too long for a unix socket", path);
    memcpy(sa->sun_path, path, strlen(path) + 1);
    return 0;
}

int control_listen(const char *dir, struct vmrun_error *err)
{
    char path[PATH_MAX];
    struct sockaddr_un sa;
    snprintf(path, sizeof(path), "%s/%s", dir, CONTROL_SOCKET);
    if (socket_address(path, &sa, err) < 0)
        return -ENAMETOOLONG;
    cleanup_close int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return vmrun_fail(err, errno, "control socket");
    /* A socket left by a dead supervisor of the same name. */
    if (unlink(path) < 0 && errno != ENOENT)
        return vmrun_fail(err, errno, "remove %s", path);
    /* Created 0600 from the start: no moment where another mode holds. */
    mode_t old = umask(0177);
    int r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    int e = errno;
    umask(old);
    if (r < 0)
        return vmrun_fail(err, e, "bind %s", path);
    if (listen(fd, 4) < 0)
        return vmrun_fail(err, errno, "listen on %s", path);
    return steal_fd(&fd);
}

cJSON *control_error_reply(const char *fmt, ...)
{
    char msg[VMRUN_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddBoolToObject(j, "ok", false);
    cJSON_AddStringToObject(j, "error", msg);
    return j;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Read until a newline, EOF, the size limit or the deadline. Returns the
 * length of the line (without its newline), or -1. */
static ssize_t read_line(int fd, char *buf, size_t len, long long deadline)
{
    size_t got = 0;
    for (;;) {
        char *nl = memchr(buf, '\n', got);
        if (nl != NULL) {
            *nl = '\0';
            return nl - buf;
        }
        if (got == len - 1)
            return -1;
        long long left = deadline - now_ms();
        if (left <= 0)
            return -1;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        ssize_t n = read(fd, buf + got, len - 1 - got);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0)
            return -1;
        if (n == 0) {
            buf[got] = '\0';
            return got > 0 ? (ssize_t)got : -1;
        }
        got += (size_t)n;
    }
}

static void write_all(int fd, const char *s, size_t len, long long deadline)
{
    while (len > 0) {
        ssize_t n = send(fd, s, len, MSG_NOSIGNAL);
        if (n > 0) {
            s += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno != EINTR && errno != EAGAIN)
            return;
        long long left = deadline - now_ms();
        if (left <= 0)
            return;
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        poll(&p, 1, (int)left);
    }
}

static void send_reply(int fd, cJSON *reply)
{
    char *text = reply != NULL ? cJSON_PrintUnformatted(reply) : NULL;
    cJSON_Delete(reply);
    if (text == NULL)
        return;
    size_t n = strlen(text);
    char *line = malloc(n + 2);
    if (line == NULL) {
        free(text);
        return;
    }
    memcpy(line, text, n);
    free(text);
    line[n] = '\n';
    line[n + 1] = '\0';
    write_all(fd, line, n + 1, now_ms() + CONTROL_READ_TIMEOUT_MS);
    free(line);
}

static void serve_connection(int fd, control_handler handler, void *ctx)
{
    struct ucred cred;
    socklen_t clen = sizeof(cred);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0 || cred.uid != geteuid()) {
        send_reply(fd, control_error_reply("only uid %u may send requests to this VM",
                                           (unsigned)geteuid()));
        return;
    }
    char buf[CONTROL_MAX_REQUEST + 1];
    ssize_t n = read_line(fd, buf, sizeof(buf), now_ms() + CONTROL_READ_TIMEOUT_MS);
    if (n < 0) {
        send_reply(fd, control_error_reply("no request, or one longer than %d bytes",
                                           CONTROL_MAX_REQUEST));
        return;
    }
    cJSON *req = cJSON_ParseWithLength(buf, (size_t)n);
    if (!cJSON_IsObject(req)) {
        cJSON_Delete(req);
        send_reply(fd, control_error_reply("a request is a JSON object"));
        return;
    }
    cJSON *reply = handler(ctx, req);
    cJSON_Delete(req);
    send_reply(fd, reply != NULL ? reply : control_error_reply("this VM does not know the request"));
}

void control_serve(int lfd, control_handler handler, void *ctx)
{
    for (int i = 0; i < 8; i++) {
        cleanup_close int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0)
            return; /* EAGAIN: none left; anything else: the next poll retries */
        serve_connection(fd, handler, ctx);
    }
}

int control_call(const char *name, cJSON *request, cJSON **reply, int timeout_ms,
                 struct vmrun_error *err)
{
    *reply = NULL;
    char *text = cJSON_PrintUnformatted(request);
    cJSON_Delete(request);
    if (text == NULL)
        return vmrun_fail(err, ENOMEM, "request to %s", name);
    size_t tlen = strlen(text);
    cleanup_free char *line = malloc(tlen + 2);
    if (line == NULL) {
        free(text);
        return vmrun_fail(err, ENOMEM, "request to %s", name);
    }
    memcpy(line, text, tlen);
    free(text);
    memcpy(line + tlen, "\n", 2);
    if (strlen(line) > CONTROL_MAX_REQUEST)
        return vmrun_failx(err, EMSGSIZE, "the request to %s is too long", name);

    char path[PATH_MAX];
    struct sockaddr_un sa;
    if (runtime_path(path, sizeof(path), name, CONTROL_SOCKET) < 0 ||
        socket_address(path, &sa, err) < 0)
        return vmrun_failx(err, ENAMETOOLONG, "the runtime path of %s is too long", name);
    cleanup_close int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return vmrun_fail(err, errno, "socket");
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;
        return vmrun_failx(err, e, "the supervisor of '%s' does not answer requests (%s)", name,
                           strerror(e));
    }
    long long deadline = now_ms() + timeout_ms;
    write_all(fd, line, strlen(line), deadline);
    cleanup_free char *buf = malloc(CONTROL_MAX_REPLY + 1);
    if (buf == NULL)
        return vmrun_fail(err, ENOMEM, "reply from %s", name);
    ssize_t n = read_line(fd, buf, CONTROL_MAX_REPLY + 1, deadline);
    if (n < 0)
        return vmrun_failx(err, ETIMEDOUT, "no answer from the supervisor of '%s' within %d s",
                           name, timeout_ms / 1000);
    *reply = cJSON_ParseWithLength(buf, (size_t)n);
    if (!cJSON_IsObject(*reply)) {
        cJSON_Delete(*reply);
        *reply = NULL;
        return vmrun_failx(err, EPROTO, "the supervisor of '%s' sent no JSON object", name);
    }
    return 0;
}
