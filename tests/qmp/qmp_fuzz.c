/* libFuzzer harness for what QEMU's bytes reach first: the framer, the
 * message parser and, behind them, the client's state machine.
 *
 * The first input byte picks the mode and the chunk size, the rest is what
 * "QEMU" sends:
 *   even: framer + parser alone, fed in chunks, with a small line limit so
 *         that over-long lines are within the fuzzer's reach;
 *   odd:  the whole client on a socketpair whose other end sent the bytes
 *         and hung up (so every wait ends at once with EOF). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "qmp.h"
#include "qmp_frame.h"
#include "qmp_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_LINE 1024

static int check_line(void *opaque, char *line, size_t len)
{
    struct qmp_msg m;
    const char *why = NULL;
    if (line[len] != '\0' || memchr(line, '\n', len) != NULL)
        abort();
    int r = qmp_msg_parse(line, len, &m, &why);
    if (r < 0) {
        if (why == NULL || m.root != NULL)
            abort();
        return 0;
    }
    switch (m.kind) {
    case QMP_MSG_GREETING:
        if (m.major < 0 || m.minor < 0 || m.micro < 0)
            abort();
        break;
    case QMP_MSG_RETURN:
        if (m.value == NULL)
            abort();
        (void)qmp_msg_id_is(m.id, 1);
        break;
    case QMP_MSG_ERROR:
        if (strlen(m.err_class) + strlen(m.desc) > len)
            abort();
        break;
    case QMP_MSG_EVENT:
        if (strlen(m.event) > len)
            abort();
        break;
    }
    qmp_msg_free(&m);
    (*(size_t *)opaque)++;
    return 0;
}

static void fuzz_framer(const uint8_t *data, size_t size, size_t chunk)
{
    struct qmp_framer f;
    size_t lines = 0;
    qmp_framer_init(&f, FUZZ_MAX_LINE);
    for (size_t off = 0; off < size; off += chunk) {
        size_t n = size - off < chunk ? size - off : chunk;
        int r = qmp_framer_feed(&f, (const char *)data + off, n, check_line, &lines);
        if (r < 0 && r != -EMSGSIZE)
            abort();
        if (qmp_framer_pending(&f) > FUZZ_MAX_LINE + 1 || f.cap > FUZZ_MAX_LINE + 2)
            abort();
    }
    qmp_framer_destroy(&f);

    /* The parser on an exact-size copy, not NUL-terminated: it must not
     * read past len. */
    char *copy = malloc(size != 0 ? size : 1);
    if (copy != NULL) {
        memcpy(copy, data, size);
        struct qmp_msg m;
        if (qmp_msg_parse(copy, size, &m, NULL) == 0)
            qmp_msg_free(&m);
        free(copy);
    }
}

static void fuzz_client(const uint8_t *data, size_t size)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        abort();
    /* -max_len keeps inputs far below the socket buffer: this never blocks. */
    if (size > 0 && send(sv[1], data, size, MSG_NOSIGNAL) != (ssize_t)size)
        abort();
    shutdown(sv[1], SHUT_WR);

    struct qmp_client *c = NULL;
    if (qmp_open_fd(sv[0], 1000, &c) == 0) {
        cJSON *ret = NULL;
        if (qmp_execute(c, "query-status", NULL, &ret, 1000) == 0)
            cJSON_Delete(ret);
        (void)qmp_pump(c);
        (void)qmp_wait_event(c, 0);
        struct qmp_event ev;
        while (qmp_next_event(c, &ev) == 1) {
            if (ev.name == NULL)
                abort();
            qmp_event_free(&ev);
        }
        if (qmp_last_error(c) == NULL)
            abort();
        qmp_close(c);
    } else if (qmp_last_error(NULL)[0] == '\0') {
        abort();
    }
    close(sv[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    uint8_t mode = data[0];
    if ((mode & 1) != 0)
        fuzz_client(data + 1, size - 1);
    else
        fuzz_framer(data + 1, size - 1, (size_t)(mode >> 1) + 1);
    return 0;
}
