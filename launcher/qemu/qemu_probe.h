/* Read-only questions to a QEMU binary, for `vmrun check`: where it is,
 * which version it is, and which audio and display backends this build
 * has (Debian ships some as modules in a separate package). Each question is
 * one short exec of the binary with stdin and stderr on /dev/null, bounded
 * by a timeout; nothing on the host changes. */
#ifndef VMRUN_QEMU_PROBE_H
#define VMRUN_QEMU_PROBE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"

#define QEMU_PROBE_TIMEOUT_MS 5000

struct qemu_version {
    unsigned major, minor, micro;
};

/* Resolve a binary name the way execvp does: a name containing '/' is
 * taken as it is, anything else is looked up in PATH (as root, the fixed
 * PATH of sys/child_env.h, never the caller's). Returns 0 with the
 * path in out, -ENOENT when it is nowhere, -EACCES when the only matches
 * are not executable by this process. */
int qemu_find_binary(const char *name, char *out, size_t len);

/* Parse the first line of `qemu --version`: "QEMU emulator version 7.2.22
 * (Debian ...)". 0, or -EINVAL when the text says no version. Pure. */
int qemu_parse_version(const char *text, struct qemu_version *v);

/* <0, 0, >0 as a is older than, equal to, newer than b. */
int qemu_version_cmp(const struct qemu_version *a, const struct qemu_version *b);

/* Run `binary args...` (args NULL-terminated) and collect its standard output (NUL-terminated,
 * truncated to fit). 0 when it exited 0; a negative errno with err set when
 * it could not run, timed out (-ETIMEDOUT; it is killed and reaped) or
 * exited otherwise. */
int qemu_probe_output(const char *binary, const char *const *args, char *out, size_t len,
                      struct vmrun_error *err);

/* True when one line of a `-audiodev help` / `-display help` listing is
 * exactly name. Pure. */
bool qemu_help_lists(const char *listing, const char *name);

#endif
