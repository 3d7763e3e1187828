/* The QEMU command line: a pure function from (profile, host facts) to argv.
 * Nothing here touches the host; everything that depends on the host or on
 * the run (socket paths, the hugepage file, the per-VM OVMF vars copy) comes
 * in through struct vm_host_facts, so tests can fix it. The argv is exec'd
 * directly, never through a shell. */
#ifndef VMRUN_CMDLINE_H
#define VMRUN_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "error.h"
#include "profile.h"

struct vm_host_facts {
    const char *runtime_dir;  /* e.g. /run/vmrun/NAME */
    const char *qmp_socket;   /* e.g. /run/vmrun/NAME/qmp.sock */
    const char *memory_file;  /* hugetlbfs file prepared by vmrun; NULL: plain RAM */
    const char *ovmf_vars;    /* the per-VM vars copy; NULL when no firmware */
    const char *serial_log;   /* file for serial "log" */
    const char *looking_glass_shm; /* the /dev/shm file for looking_glass.device "shm" */
    bool sandbox;             /* QEMU supports -sandbox: turn it on */
};

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

/* Append s to buf with QEMU's option escaping (',' doubled). */
int qemu_escape_value(char *buf, size_t len, const char *s);

#endif
