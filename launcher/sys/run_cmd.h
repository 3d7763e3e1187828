/* Running a helper program (systemctl) with a time limit.
 *
 * vmrun is a root program started by users: what it runs it names by an
 * absolute path and starts with a fixed, clean environment (never the
 * caller's), no inherited descriptors but /dev/null on standard input and a
 * pipe for its output, every signal unblocked and at its default, in its own
 * process group. When the time is up the whole group is killed and reaped,
 * and the caller says what was stuck. */
#ifndef VMRUN_RUN_CMD_H
#define VMRUN_RUN_CMD_H

#include "base/error.h"

#define RUN_CMD_OUTPUT_MAX 2048

struct cmd_result {
    int status;                       /* exit status; 128 + N when killed by signal N */
    char output[RUN_CMD_OUTPUT_MAX];  /* stdout and stderr, cut to fit, trailing space removed */
};

/* Run argv (argv[0] an absolute path; NULL-terminated) with envp (NULL-
 * terminated) and wait at most timeout_ms. Returns 0 when it ran to its end
 * (whatever its exit status: see res->status), -ETIMEDOUT when it was
 * killed at the limit, or another negative errno (it could not be started:
 * err says why). */
int run_cmd(const char *const argv[], const char *const envp[], int timeout_ms,
            struct cmd_result *res, struct vmrun_error *err);

#endif
