#include "base/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int fill(struct vmrun_error *err, int errnum, int with_strerror, const char *fmt,
                va_list ap) __attribute__((format(printf, 4, 0)));
static int fill(struct vmrun_error *err, int errnum, int with_strerror, const char *fmt, va_list ap)
{
    if (errnum < 0)
        errnum = -errnum;
    if (err != NULL) {
        int n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        if (n < 0)
            n = 0;
        if (with_strerror && errnum != 0 && (size_t)n < sizeof(err->msg))
            snprintf(err->msg + n, sizeof(err->msg) - (size_t)n, ": %s", strerror(errnum));
        err->code = errnum;
    }
    return errnum != 0 ? -errnum : -EIO;
}

int vmrun_fail(struct vmrun_error *err, int errnum, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = fill(err, errnum, 1, fmt, ap);
    va_end(ap);
    return r;
}

int vmrun_failx(struct vmrun_error *err, int errnum, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = fill(err, errnum, 0, fmt, ap);
    va_end(ap);
    return r;
}

int vmrun_error_prefix(struct vmrun_error *err, const char *fmt, ...)
{
    if (err == NULL)
        return -EIO;
    char prefix[VMRUN_ERROR_MSG_MAX];
    char old[VMRUN_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof(old));
    /* "prefix: old", cut at the buffer's end (a long message losing its
     * tail is better than losing the context). */
    size_t plen = strnlen(prefix, sizeof(err->msg) - 1);
    memcpy(err->msg, prefix, plen);
    size_t off = plen;
    for (const char *s = ": "; *s != '\0' && off < sizeof(err->msg) - 1; s++)
        err->msg[off++] = *s;
    size_t olen = strnlen(old, sizeof(old));
    if (olen > sizeof(err->msg) - 1 - off)
        olen = sizeof(err->msg) - 1 - off;
    memcpy(err->msg + off, old, olen);
    err->msg[off + olen] = '\0';
    return err->code != 0 ? -err->code : -EIO;
}

void vmrun_error_clear(struct vmrun_error *err)
{
    if (err != NULL) {
        err->code = 0;
        err->msg[0] = '\0';
    }
}
