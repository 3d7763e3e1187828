#include "base/diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void diag_add(struct diag_list *l, enum diag_level level, const char *file, unsigned line,
              unsigned col, const char *path, const char *fmt, ...)
{
    /* An error is counted even when there is no memory to describe it, so
     * that a profile is never accepted because its diagnostic was lost. */
    if (level == DIAG_ERROR)
        l->n_errors++;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct diag *items = realloc(l->items, cap * sizeof(*items));
        if (items == NULL)
            return;
        l->items = items;
        l->cap = cap;
    }
    struct diag d = {.level = level, .line = line, .col = col};
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&d.message, fmt, ap);
    va_end(ap);
    if (n < 0)
        d.message = NULL;
    d.file = strdup(file != NULL ? file : "");
    d.path = strdup(path != NULL ? path : "");
    if (d.message == NULL || d.file == NULL || d.path == NULL) {
        free(d.message);
        free(d.file);
        free(d.path);
        return;
    }
    l->items[l->n++] = d;
}

void diag_format(const struct diag *d, char *buf, size_t len)
{
    char where[64] = "";
    if (d->line > 0 && d->col > 0)
        snprintf(where, sizeof(where), "%u:%u:", d->line, d->col);
    else if (d->line > 0)
        snprintf(where, sizeof(where), "%u:", d->line); /* XML: lines only */
    snprintf(buf, len, "%s:%s %s%s%s%s", d->file, where,
             d->level == DIAG_WARNING ? "warning: " : "", d->path, d->path[0] != '\0' ? ": " : "",
             d->message);
}

void diag_print_all(const struct diag_list *l, FILE *out)
{
    for (size_t i = 0; i < l->n; i++) {
        const struct diag *d = &l->items[i];
        /* Formatted straight to the stream: a message may quote a long
         * value, and a fixed buffer would cut it. */
        if (d->line > 0 && d->col > 0)
            fprintf(out, "%s:%u:%u: ", d->file, d->line, d->col);
        else if (d->line > 0)
            fprintf(out, "%s:%u: ", d->file, d->line);
        else
            fprintf(out, "%s: ", d->file);
        fprintf(out, "%s%s%s%s\n", d->level == DIAG_WARNING ? "warning: " : "", d->path,
                d->path[0] != '\0' ? ": " : "", d->message);
    }
}

void diag_list_free(struct diag_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->items[i].file);
        free(l->items[i].path);
        free(l->items[i].message);
    }
    free(l->items);
    l->items = NULL;
    l->n = l->cap = l->n_errors = 0;
}
