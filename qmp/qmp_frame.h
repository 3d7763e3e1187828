/* QMP framing: QEMU ends every message with "\r\n" (a bare "\n" is accepted
 * too). The framer turns an arbitrary stream of byte chunks into complete
 * lines, whatever the chunking: several messages in one read, one message
 * split over many. It is a pure function of the bytes fed to it and holds at
 * most max + 2 bytes however long a line grows. */
#ifndef VMRUN_QMP_FRAME_H
#define VMRUN_QMP_FRAME_H

#include <stddef.h>

struct qmp_framer {
    char *buf;
    size_t len; /* bytes of the current, incomplete line */
    size_t cap;
    size_t max; /* longest accepted line, without its terminator */
    int error;  /* 0, or the negative errno that stopped the framer */
};

/* Called with each complete line, NUL-terminated and without "\r\n"; the
 * line is valid only during the call. A negative return stops the feed and
 * is returned by qmp_framer_feed. Empty lines are not reported. */
typedef int (*qmp_line_fn)(void *opaque, char *line, size_t len);

void qmp_framer_init(struct qmp_framer *f, size_t max);
void qmp_framer_destroy(struct qmp_framer *f);

/* Feed n bytes. Returns 0, a callback's negative return, -EMSGSIZE for a line
 * longer than max or -ENOMEM. After any error the framer stays stopped and
 * returns that error again: the stream cannot be resynchronised with
 * confidence, so the session ends. */
int qmp_framer_feed(struct qmp_framer *f, const char *data, size_t n, qmp_line_fn fn, void *opaque);

/* Bytes of an incomplete line held back (for tests). */
size_t qmp_framer_pending(const struct qmp_framer *f);

#endif
