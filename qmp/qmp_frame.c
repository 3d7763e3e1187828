#include "qmp_frame.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Small to start with: most QMP messages are a few hundred bytes; the buffer
 * doubles up to max + 2 only for the rare long reply. */
#define QMP_FRAME_INITIAL_CAP 4096

void qmp_framer_init(struct qmp_framer *f, size_t max)
{
    *f = (struct qmp_framer){.max = max};
}

void qmp_framer_destroy(struct qmp_framer *f)
{
    free(f->buf);
    *f = (struct qmp_framer){.max = f->max};
}

size_t qmp_framer_pending(const struct qmp_framer *f)
{
    return f->len;
}

/* Make room for `need` bytes plus a NUL. need never exceeds max + 1 (a
 * max-long line and its '\r'), so the buffer never exceeds max + 2. */
static int reserve(struct qmp_framer *f, size_t need)
{
    if (need + 1 <= f->cap)
        return 0;
    size_t cap = f->cap != 0 ? f->cap : QMP_FRAME_INITIAL_CAP;
    while (cap < need + 1)
        cap *= 2;
    if (cap > f->max + 2)
        cap = f->max + 2;
    char *nb = realloc(f->buf, cap);
    if (nb == NULL)
        return -ENOMEM;
    f->buf = nb;
    f->cap = cap;
    return 0;
}

static int stop(struct qmp_framer *f, int r)
{
    f->error = r;
    f->len = 0;
    return r;
}

int qmp_framer_feed(struct qmp_framer *f, const char *data, size_t n, qmp_line_fn fn, void *opaque)
{
    if (f->error != 0)
        return f->error;
    while (n > 0) {
        const char *nl = memchr(data, '\n', n);
        size_t take = nl != NULL ? (size_t)(nl - data) : n;
        /* One byte of slack for a '\r' that the terminator will strip. */
        if (take > f->max + 1 - f->len)
            return stop(f, -EMSGSIZE);
        int r = reserve(f, f->len + take);
        if (r < 0)
            return stop(f, r);
        memcpy(f->buf + f->len, data, take);
        f->len += take;
        if (nl == NULL)
            break;
        data += take + 1;
        n -= take + 1;

        size_t len = f->len;
        if (len > 0 && f->buf[len - 1] == '\r')
            len--;
        f->len = 0;
        if (len > f->max)
            return stop(f, -EMSGSIZE);
        if (len == 0)
            continue;
        f->buf[len] = '\0';
        r = fn(opaque, f->buf, len);
        if (r < 0)
            return stop(f, r);
    }
    return 0;
}
