/* The QEMU command line: a pure function from (profile, host facts) to argv.
 * Nothing here touches the host; everything that depends on the host or on
 * the run (socket paths, the hugepage file, the per-VM OVMF vars copy) comes
 * in through struct vm_host_facts, so tests can fix it. The argv is exec'd
 * directly, never through a shell. */
#ifndef VMRUN_CMDLINE_H
#define VMRUN_CMDLINE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "base/error.h"
#include "profile/profile.h"

struct vm_host_facts {
    const char *runtime_dir;       /* e.g. /run/vmrun/NAME */
    int qmp_fd;                    /* QEMU's end of the QMP connection (qemu_fds.h) */
    const char *memory_file;       /* hugetlbfs file prepared by vmrun; NULL: plain RAM */
    const char *ovmf_vars;         /* the per-VM vars copy; NULL when no firmware */
    const char *serial_log;        /* file for serial "log" */
    const char *looking_glass_shm; /* the /dev/shm file for looking_glass.device "shm" */
    bool sandbox;                  /* QEMU supports -sandbox: turn it on */
};

/* Room for the paths of a vm_host_facts filled by vm_host_facts_default. */
struct vm_host_facts_storage {
    char runtime_dir[PATH_MAX];
    char memory_file[PATH_MAX];
    char ovmf_vars[PATH_MAX];
    char serial_log[PATH_MAX];
    char looking_glass_shm[PATH_MAX];
};

/* The host facts of a VM, laid out as the supervisor lays them out:
 *   runtime_dir  NULL: "/run/vmrun/NAME"
 *   state_dir    NULL: "/var/lib/vmrun/NAME" (serial.log, OVMF_VARS.fd: what
 *                outlives a run)
 * memory_file /dev/hugepages/vmrun-NAME (only with hugepages; the supervisor
 * puts the prepared file there), looking_glass_shm /dev/shm/looking-glass-NAME
 * (only with device "shm"), qmp_fd QEMU_FD_QMP (the QMP connection is the
 * first fd QEMU inherits, qemu_fds.h), sandbox false. Pure: reads neither the host nor the
 * environment, so `vmrun print-cmd` is stable. h's strings point into st. */
void vm_host_facts_default(struct vm_host_facts *h, struct vm_host_facts_storage *st,
                           const struct vm_profile *p, const char *runtime_dir,
                           const char *state_dir);

struct argv_list {
    char **v; /* NULL-terminated */
    size_t n, cap;
};

int argv_push(struct argv_list *a, const char *s);
int argv_pushf(struct argv_list *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void argv_list_free(struct argv_list *a);

/* Build the full argv (argv[0] is the QEMU binary). Returns 0 or a negative
 * errno with err set (e.g. a value that cannot be expressed safely). */
int qemu_build_argv(const struct vm_profile *p, const struct vm_host_facts *h,
                    struct argv_list *out, struct vmrun_error *err);

/* Print argv shell-quoted, one option (with its value) per line, joined by
 * " \\\n    ", ready to paste into a shell. */
void qemu_print_argv(FILE *out, const struct argv_list *a);

/* The -audiodev driver a profile's audio backend becomes (QEMU 7.2 has no
 * "pipewire" driver: PipeWire desktops serve the PulseAudio protocol). */
const char *qemu_audiodev_driver(enum vm_audio_backend be);

/* Append s to buf with QEMU's option escaping (',' doubled). */
int qemu_escape_value(char *buf, size_t len, const char *s);

#endif
