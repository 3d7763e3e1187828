/* Diagnostics: every problem found in a profile, with where it is. */
#ifndef VMRUN_DIAG_H
#define VMRUN_DIAG_H

#include <stddef.h>
#include <stdio.h>

enum diag_level { DIAG_ERROR, DIAG_WARNING };

struct diag {
    enum diag_level level;
    char *file;    /* as given to the parser */
    unsigned line; /* 1-based; 0 when unknown */
    unsigned col;  /* 1-based; 0 when unknown */
    char *path;    /* JSON path, e.g. "cpu.pin.vcpus[3]"; "" for the document */
    char *message; /* e.g. "expected a host CPU number (integer >= 0), got \"x\"" */
};

struct diag_list {
    struct diag *items;
    size_t n, cap;
    size_t n_errors;
};

void diag_add(struct diag_list *l, enum diag_level level, const char *file, unsigned line,
              unsigned col, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

/* "gaming.json:14:7: cpu.pin.vcpus[3]: expected ..." (warnings say "warning: "). */
void diag_format(const struct diag *d, char *buf, size_t len);
void diag_print_all(const struct diag_list *l, FILE *out);
void diag_list_free(struct diag_list *l);

#endif
