/* The QMP client: a non-blocking unix socket, deadlines on CLOCK_MONOTONIC,
 * and the protocol's state machine on top of the pure framer and parser. */
#include "qmp.h"
#include "qmp_frame.h"
#include "qmp_msg.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define QMP_ERROR_MAX 1024
#define QMP_READ_CHUNK 65536
/* How often to retry connect() while QEMU has not created its socket yet. */
#define QMP_CONNECT_RETRY_MS 20
/* Reads per qmp_pump call: enough to empty the socket in the common case,
 * bounded so that a flood cannot keep the supervisor from its other fds. */
#define QMP_PUMP_READS 16

struct event_node {
    struct event_node *next;
    struct qmp_event ev;
    size_t bytes; /* what this event counts against QMP_MAX_QUEUED_BYTES */
};

enum qmp_phase {
    PHASE_GREETING, /* nothing but the greeting is valid yet */
    PHASE_READY,
};

struct qmp_client {
    int fd;
    enum qmp_phase phase;
    int dead; /* 0, or the negative errno that ended the session */
    struct qmp_framer framer;
    int major, minor, micro;

    /* The one command in flight (qmp_execute is synchronous). */
    unsigned long long next_id;
    unsigned long long pending_id; /* 0: none; replies to others are dropped */
    const char *pending_cmd;
    bool replied;
    int reply_err;
    cJSON *reply;

    struct event_node *head, *tail;
    size_t nevents;
    size_t queued_bytes; /* what the queued events account for (node_bytes) */
    size_t line_len;     /* length of the message being handled */

    char err[QMP_ERROR_MAX];
    char rbuf[QMP_READ_CHUNK];
};

/* Why the last qmp_connect/qmp_open_fd failed: there is no client to hold it. */
static __thread char open_error[QMP_ERROR_MAX];

__attribute__((format(printf, 3, 4))) static int set_error(struct qmp_client *c, int r,
                                                           const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof(c->err), fmt, ap);
    va_end(ap);
    return r;
}

/* Record the first reason the session ended; later calls repeat it. */
__attribute__((format(printf, 3, 4))) static int end_session(struct qmp_client *c, int r,
                                                             const char *fmt, ...)
{
    if (c->dead != 0)
        return c->dead;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof(c->err), fmt, ap);
    va_end(ap);
    c->dead = r;
    return r;
}

__attribute__((format(printf, 2, 3))) static int open_fail(int r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(open_error, sizeof(open_error), fmt, ap);
    va_end(ap);
    return r;
}

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* -1: no deadline. */
static long long deadline_after(int timeout_ms)
{
    return timeout_ms < 0 ? -1 : now_ns() + timeout_ms * 1000000LL;
}

/* Milliseconds left, rounded up so that poll() never wakes just before the
 * deadline; -1 without a deadline. */
static int remaining_ms(long long deadline)
{
    if (deadline < 0)
        return -1;
    long long left = deadline - now_ns();
    if (left <= 0)
        return 0;
    left = (left + 999999) / 1000000;
    return left > INT_MAX ? INT_MAX : (int)left;
}

static void drop_oldest_event(struct qmp_client *c)
{
    struct event_node *old = c->head;
    c->head = old->next;
    if (c->head == NULL)
        c->tail = NULL;
    c->nevents--;
    c->queued_bytes -= old->bytes;
    qmp_event_free(&old->ev);
    free(old);
}

static void free_events(struct qmp_client *c)
{
    while (c->head != NULL) {
        struct event_node *n = c->head;
        c->head = n->next;
        qmp_event_free(&n->ev);
        free(n);
    }
    c->tail = NULL;
    c->nevents = 0;
    c->queued_bytes = 0;
}

static int queue_event(struct qmp_client *c, struct qmp_msg *m)
{
    struct event_node *n = calloc(1, sizeof(*n));
    if (n == NULL)
        return -ENOMEM;
    n->ev.name = strdup(m->event);
    if (n->ev.name == NULL) {
        free(n);
        return -ENOMEM;
    }
    n->bytes = sizeof(*n) + strlen(n->ev.name) + 1;
    /* The parsed tree of a big message is several times its text: only
     * small data is kept. */
    if (m->data != NULL && c->line_len <= QMP_MAX_EVENT_BYTES) {
        n->ev.data = cJSON_DetachItemViaPointer(m->root, m->data);
        n->bytes += 8 * c->line_len; /* a generous estimate of the tree */
    }
    n->ev.ts_sec = m->ts_sec;
    n->ev.ts_usec = m->ts_usec;

    while (c->head != NULL && (c->nevents >= QMP_MAX_QUEUED_EVENTS ||
                               c->queued_bytes + n->bytes > QMP_MAX_QUEUED_BYTES))
        drop_oldest_event(c);
    if (c->tail != NULL)
        c->tail->next = n;
    else
        c->head = n;
    c->tail = n;
    c->nevents++;
    c->queued_bytes += n->bytes;
    return 0;
}

static int handle_message(struct qmp_client *c, struct qmp_msg *m)
{
    if (c->phase == PHASE_GREETING) {
        if (m->kind != QMP_MSG_GREETING)
            return end_session(c, -EPROTO, "QEMU sent something else before the QMP greeting");
        c->major = m->major;
        c->minor = m->minor;
        c->micro = m->micro;
        c->phase = PHASE_READY;
        return 0;
    }
    switch (m->kind) {
    case QMP_MSG_GREETING:
        return end_session(c, -EPROTO, "QEMU sent a second QMP greeting");
    case QMP_MSG_EVENT: {
        int r = queue_event(c, m);
        if (r < 0)
            return end_session(c, r, "out of memory queueing QMP event %s", m->event);
        return 0;
    }
    case QMP_MSG_RETURN:
        if (c->pending_id == 0 || !qmp_msg_id_is(m->id, c->pending_id))
            return 0; /* a reply we are not waiting for (any more): dropped */
        c->reply = cJSON_DetachItemViaPointer(m->root, m->value);
        c->reply_err = 0;
        c->replied = true;
        c->pending_id = 0;
        return 0;
    case QMP_MSG_ERROR:
        if (m->id == NULL)
            return end_session(c, -EPROTO, "QEMU rejected its input: %s: %s", m->err_class,
                               m->desc);
        if (c->pending_id == 0 || !qmp_msg_id_is(m->id, c->pending_id))
            return 0;
        set_error(c, -EREMOTEIO, "QMP command %s failed: %s: %s", c->pending_cmd, m->err_class,
                  m->desc);
        c->reply_err = -EREMOTEIO;
        c->replied = true;
        c->pending_id = 0;
        return 0;
    }
    return end_session(c, -EPROTO, "unknown QMP message kind");
}

static int on_line(void *opaque, char *line, size_t len)
{
    struct qmp_client *c = opaque;
    struct qmp_msg m;
    const char *why = NULL;
    c->line_len = len;
    int r = qmp_msg_parse(line, len, &m, &why);
    if (r == -ENOMEM)
        return end_session(c, r, "out of memory parsing a QMP message");
    if (r < 0)
        return end_session(c, -EBADMSG, "QEMU sent an invalid QMP message (%s): %.80s",
                           why != NULL ? why : "?", line);
    r = handle_message(c, &m);
    qmp_msg_free(&m);
    return r;
}

/* One recv(). Returns 1 when bytes were consumed, 0 when there was nothing
 * to read (EAGAIN, EINTR), or the error that ended the session. */
static int read_some(struct qmp_client *c)
{
    ssize_t n = recv(c->fd, c->rbuf, sizeof(c->rbuf), 0);
    if (n < 0) {
        if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        if (errno == ECONNRESET)
            return end_session(c, -ECONNRESET, "QEMU reset the QMP connection%s%s",
                               c->pending_cmd != NULL ? " before replying to " : "",
                               c->pending_cmd != NULL ? c->pending_cmd : "");
        return end_session(c, -errno, "reading from the QMP socket: %s", strerror(errno));
    }
    if (n == 0)
        return end_session(c, -EPIPE, "QEMU closed the QMP connection%s%s",
                           c->pending_cmd != NULL ? " before replying to " : "",
                           c->pending_cmd != NULL ? c->pending_cmd : "");
    int r = qmp_framer_feed(&c->framer, c->rbuf, (size_t)n, on_line, c);
    if (r < 0 && c->dead == 0) {
        if (r == -EMSGSIZE)
            return end_session(c, r, "QEMU sent a QMP message longer than %d bytes",
                               QMP_MAX_MESSAGE);
        return end_session(c, r, "reading QMP messages: %s", strerror(-r));
    }
    return r < 0 ? c->dead : 1;
}

/* Best effort, after the peer went away: queue what it sent before. */
static void drain_after_close(struct qmp_client *c)
{
    for (int i = 0; i < QMP_PUMP_READS && c->dead == 0; i++)
        if (read_some(c) <= 0)
            break;
}

typedef bool (*done_fn)(const struct qmp_client *c);

static bool greeting_arrived(const struct qmp_client *c)
{
    return c->phase == PHASE_READY;
}

static bool reply_arrived(const struct qmp_client *c)
{
    return c->replied;
}

static bool event_queued(const struct qmp_client *c)
{
    return c->head != NULL;
}

/* Read until done(c) holds, the deadline passes (-ETIMEDOUT, no message set)
 * or the session ends. EINTR resumes the wait with the time that is left. */
static int wait_until(struct qmp_client *c, long long deadline, done_fn done)
{
    for (;;) {
        if (done(c))
            return 0;
        if (c->dead != 0)
            return c->dead;
        int ms = remaining_ms(deadline);
        struct pollfd p = {.fd = c->fd, .events = POLLIN};
        int n = poll(&p, 1, ms);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return set_error(c, -errno, "poll on the QMP socket: %s", strerror(errno));
        }
        if (n > 0) {
            int r = read_some(c);
            if (r < 0)
                return r;
        }
        /* With the deadline reached, one last look at what was read. */
        if (ms == 0 && !done(c))
            return c->dead != 0 ? c->dead : -ETIMEDOUT;
    }
}

/* One send(); with pass_fd >= 0, sendmsg() with the descriptor attached
 * (the kernel delivers it with the first byte of these). */
static ssize_t send_some(int sock, const char *buf, size_t len, int pass_fd)
{
    if (pass_fd < 0)
        return send(sock, buf, len, MSG_NOSIGNAL);
    struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } ctl;
    memset(&ctl, 0, sizeof(ctl));
    struct msghdr mh = {
        .msg_iov = &iov,
        .msg_iovlen = 1,
        .msg_control = ctl.buf,
        .msg_controllen = sizeof(ctl.buf),
    };
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &pass_fd, sizeof(int));
    return sendmsg(sock, &mh, MSG_NOSIGNAL);
}

/* Send buf whole; pass_fd (or -1) travels with the first bytes that go
 * out, and only with them. */
static int send_all(struct qmp_client *c, const char *buf, size_t len, int pass_fd,
                    long long deadline)
{
    size_t off = 0;
    while (off < len) {
        ssize_t n = send_some(c->fd, buf + off, len - off, off == 0 ? pass_fd : -1);
        if (n >= 0) {
            off += (size_t)n;
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno == EPIPE || errno == ECONNRESET) {
            int e = errno;
            drain_after_close(c);
            return end_session(c, -e, "QEMU closed the QMP connection before %s was sent",
                               c->pending_cmd);
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return end_session(c, -errno, "writing to the QMP socket: %s", strerror(errno));

        /* Read while waiting so that neither side blocks on a full buffer. */
        int ms = remaining_ms(deadline);
        struct pollfd p = {.fd = c->fd, .events = POLLIN | POLLOUT};
        int r = poll(&p, 1, ms);
        if (r < 0 && errno != EINTR)
            return set_error(c, -errno, "poll on the QMP socket: %s", strerror(errno));
        if (r > 0 && (p.revents & POLLIN) != 0) {
            int rr = read_some(c);
            if (rr < 0)
                return rr;
        }
        /* Half a command went out: QEMU and we no longer agree where a
         * message starts, so this ends the session. */
        if (r == 0)
            return end_session(c, -ETIMEDOUT, "timed out sending %s to QEMU", c->pending_cmd);
    }
    return 0;
}

/* Send cmd (with pass_fd, or -1) and wait for its reply until deadline.
 * Takes args. */
static int execute_until(struct qmp_client *c, const char *cmd, cJSON *args, int pass_fd,
                         cJSON **ret, long long deadline, int timeout_ms)
{
    cJSON *msg = cJSON_CreateObject();
    if (msg == NULL) {
        cJSON_Delete(args);
        return set_error(c, -ENOMEM, "out of memory building QMP command %s", cmd);
    }
    unsigned long long id = ++c->next_id;
    if (cJSON_AddStringToObject(msg, "execute", cmd) == NULL ||
        (args != NULL && !cJSON_AddItemToObject(msg, "arguments", args)) ||
        cJSON_AddNumberToObject(msg, "id", (double)id) == NULL) {
        if (args != NULL && cJSON_GetObjectItemCaseSensitive(msg, "arguments") != args)
            cJSON_Delete(args);
        cJSON_Delete(msg);
        return set_error(c, -ENOMEM, "out of memory building QMP command %s", cmd);
    }
    char *text = cJSON_PrintUnformatted(msg);
    cJSON_Delete(msg);
    size_t len = text != NULL ? strlen(text) : 0;
    char *line = text != NULL ? realloc(text, len + 2) : NULL;
    if (line == NULL) {
        free(text);
        return set_error(c, -ENOMEM, "out of memory building QMP command %s", cmd);
    }
    line[len++] = '\n';
    line[len] = '\0';

    c->pending_id = id;
    c->pending_cmd = cmd;
    c->replied = false;
    c->reply_err = 0;
    c->reply = NULL;
    int r = send_all(c, line, len, pass_fd, deadline);
    free(line);
    if (r == 0)
        r = wait_until(c, deadline, reply_arrived);
    if (r == -ETIMEDOUT && c->dead == 0)
        set_error(c, r, "no reply from QEMU to %s within %d ms", cmd, timeout_ms);
    if (r == 0)
        r = c->reply_err;
    if (r == 0 && ret != NULL)
        *ret = c->reply;
    else
        cJSON_Delete(c->reply);
    c->reply = NULL;
    /* From now on a reply with this id is late and gets dropped. */
    c->pending_id = 0;
    c->pending_cmd = NULL;
    return r;
}

int qmp_execute(struct qmp_client *c, const char *cmd, cJSON *args, cJSON **ret, int timeout_ms)
{
    return qmp_execute_fd(c, cmd, args, -1, ret, timeout_ms);
}

int qmp_execute_fd(struct qmp_client *c, const char *cmd, cJSON *args, int fd, cJSON **ret,
                   int timeout_ms)
{
    if (ret != NULL)
        *ret = NULL;
    if (c->dead != 0) {
        cJSON_Delete(args);
        return c->dead;
    }
    if (cmd == NULL || (args != NULL && !cJSON_IsObject(args))) {
        cJSON_Delete(args);
        return set_error(c, -EINVAL, "QMP command %s: arguments must be a JSON object",
                         cmd != NULL ? cmd : "(null)");
    }
    return execute_until(c, cmd, args, fd, ret, deadline_after(timeout_ms), timeout_ms);
}

static int open_until(int fd, long long deadline, int timeout_ms, const char *what,
                      struct qmp_client **out)
{
    struct qmp_client *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        close(fd);
        return open_fail(-ENOMEM, "%s: out of memory", what);
    }
    c->fd = fd;
    qmp_framer_init(&c->framer, QMP_MAX_MESSAGE);

    int fl = fcntl(fd, F_GETFL);
    int r = 0;
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
        r = set_error(c, -errno, "fcntl: %s", strerror(errno));
    if (r == 0) {
        r = wait_until(c, deadline, greeting_arrived);
        if (r == -ETIMEDOUT)
            set_error(c, r, "no QMP greeting from QEMU within %d ms", timeout_ms);
    }
    if (r == 0)
        r = execute_until(c, "qmp_capabilities", NULL, -1, NULL, deadline, timeout_ms);
    if (r < 0) {
        open_fail(r, "%s: %s", what, c->err);
        qmp_close(c);
        return r;
    }
    *out = c;
    return 0;
}

int qmp_open_fd(int fd, int timeout_ms, struct qmp_client **out)
{
    if (fd < 0)
        return open_fail(-EBADF, "QMP: no socket");
    return open_until(fd, deadline_after(timeout_ms), timeout_ms, "QMP", out);
}

int qmp_connect(const char *path, int timeout_ms, struct qmp_client **out)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path))
        return open_fail(-ENAMETOOLONG, "QMP socket %s: path too long for a unix socket", path);
    memcpy(sa.sun_path, path, strlen(path) + 1);

    long long deadline = deadline_after(timeout_ms);
    for (;;) {
        /* Non-blocking, so that a full listen backlog is EAGAIN, not a wait
         * without a deadline. */
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
            return open_fail(-errno, "QMP socket %s: socket: %s", path, strerror(errno));
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
            char what[sizeof(sa.sun_path) + 32];
            snprintf(what, sizeof(what), "QMP socket %s", path);
            return open_until(fd, deadline, timeout_ms, what, out);
        }
        int e = errno;
        close(fd);
        if (e == EINTR)
            continue;
        /* Not created yet, or not listening yet: QEMU is still starting. */
        if (e != ENOENT && e != ECONNREFUSED && e != EAGAIN)
            return open_fail(-e, "QMP socket %s: connect: %s", path, strerror(e));
        int ms = remaining_ms(deadline);
        if (ms == 0)
            return open_fail(-e, "QMP socket %s: no connection within %d ms: %s", path, timeout_ms,
                             strerror(e));
        if (ms < 0 || ms > QMP_CONNECT_RETRY_MS)
            ms = QMP_CONNECT_RETRY_MS;
        struct timespec ts = {.tv_nsec = ms * 1000000L};
        nanosleep(&ts, NULL); /* EINTR: an early retry is harmless */
    }
}

void qmp_close(struct qmp_client *c)
{
    if (c == NULL)
        return;
    if (c->fd >= 0)
        close(c->fd);
    qmp_framer_destroy(&c->framer);
    free_events(c);
    cJSON_Delete(c->reply);
    free(c);
}

int qmp_fd(const struct qmp_client *c)
{
    return c->fd;
}

void qmp_version(const struct qmp_client *c, int *major, int *minor, int *micro)
{
    if (major != NULL)
        *major = c->major;
    if (minor != NULL)
        *minor = c->minor;
    if (micro != NULL)
        *micro = c->micro;
}

int qmp_pump(struct qmp_client *c)
{
    for (int i = 0; i < QMP_PUMP_READS; i++) {
        if (c->dead != 0)
            return c->dead;
        int r = read_some(c);
        if (r <= 0)
            return r;
    }
    return 0;
}

int qmp_wait_event(struct qmp_client *c, int timeout_ms)
{
    int r = wait_until(c, deadline_after(timeout_ms), event_queued);
    if (r == -ETIMEDOUT)
        return 0;
    return r == 0 ? 1 : r;
}

int qmp_next_event(struct qmp_client *c, struct qmp_event *ev)
{
    struct event_node *n = c->head;
    if (n == NULL)
        return 0;
    c->head = n->next;
    if (c->head == NULL)
        c->tail = NULL;
    c->nevents--;
    c->queued_bytes -= n->bytes;
    *ev = n->ev;
    free(n);
    return 1;
}

void qmp_event_free(struct qmp_event *ev)
{
    free(ev->name);
    cJSON_Delete(ev->data);
    *ev = (struct qmp_event){0};
}

const char *qmp_last_error(const struct qmp_client *c)
{
    return c != NULL ? c->err : open_error;
}
