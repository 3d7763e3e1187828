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
#include "profile/profile.h"
#include "qemu/cmdline.h"

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

/* The QEMU a profile runs: its qemu.binary, or qemu-system-x86_64. */
const char *qemu_binary_name(const struct vm_profile *p);

/* Does the QEMU named (looked up as qemu_find_binary does) have the audio
 * driver `driver` (`-audiodev help` lists it)? 1, 0, or a negative errno
 * with err set when it cannot be asked. */
int qemu_has_audio_driver(const char *name, const char *driver, struct vmrun_error *err);

/* Does the QEMU named have SPICE? `-spice help` lists its options only when
 * it does:
 * Debian builds it in up to QEMU 7.2 and ships it as a module package of
 * its own from Debian 13 on (QEMU_SPICE_PACKAGES). 1, 0, or a negative
 * errno with err set when it cannot be asked. */
int qemu_has_spice(const char *name, struct vmrun_error *err);

/* Where SPICE comes from when QEMU lacks it: the fix in messages. */
#define QEMU_SPICE_PACKAGES                                                                        \
    "install QEMU's SPICE module (Debian 13 and later: apt install qemu-system-modules-spice; "    \
    "Fedora: dnf install qemu-ui-spice-core; Arch: pacman -S qemu-ui-spice-core), or choose "      \
    "another display"

/* The facts of the host that the argv takes from the QEMU binary a
 * profile runs, asked only when the profile needs the answer (each is one
 * short exec): today whether audio.backend "pipewire" can use QEMU's own
 * PipeWire driver (QEMU 8.1 and later, in Debian's qemu-system-gui). */
void qemu_probe_facts(const struct vm_profile *p, struct vm_host_facts *h);

#endif
