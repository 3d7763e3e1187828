/* Errors travel as a negative errno return plus a caller-owned vmrun_error
 * holding one human sentence. Library code never prints or exits: only the
 * CLI (main.c and cli_*.c) reports. */
#ifndef VMRUN_ERROR_H
#define VMRUN_ERROR_H

#include <stddef.h>

#define VMRUN_ERROR_MSG_MAX 2048

/* Exit codes of the vmrun program. */
enum {
    VMRUN_EXIT_OK = 0,
    VMRUN_EXIT_FAILURE = 1, /* the host or the VM failed */
    VMRUN_EXIT_USAGE = 2,   /* bad input: arguments or profile; nothing changed */
};

struct vmrun_error {
    int code; /* positive errno, or 0 when none is set */
    char msg[VMRUN_ERROR_MSG_MAX];
};

/* Fill err with the formatted sentence followed by ": strerror(errnum)" when
 * errnum is not 0. Returns -errnum (or -EIO when errnum is 0) so callers can
 * write `return vmrun_fail (err, errno, "open %s", path);`. */
int vmrun_fail(struct vmrun_error *err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Same without the strerror suffix; errnum only sets the return value. */
int vmrun_failx(struct vmrun_error *err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepend context: "context: previous message". */
int vmrun_error_prefix(struct vmrun_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void vmrun_error_clear(struct vmrun_error *err);

#endif
