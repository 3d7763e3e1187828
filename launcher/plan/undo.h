/* Undoing journaled host changes: the registry of every module's journal
 * ops (undo.c) and the walk that undoes a journal's records in reverse.
 * Used by the plan on failure, by the supervisor at the end of a run and
 * by `vmrun recover` after a crash. */
#ifndef VMRUN_UNDO_H
#define VMRUN_UNDO_H

#include <stddef.h>

#include "base/error.h"
#include "journal/journal.h"

/* Look up an op by name in the registry (undo.c). NULL if unknown. */
const struct journal_op *journal_find_op(const char *name);

/* Undo entries in reverse order, down to and including index `from`
 * (0 = everything). Each step is reported through report() (errmsg: the
 * failure, or a note on a success; NULL when there is none); a failing undo
 * does not stop the others. Returns 0 if all succeeded, else the first
 * negative errno (err holds the first failure). */
typedef void (*journal_report_fn)(void *opaque, const struct journal_entry *e, const char *what,
                                  int result, const char *errmsg);
int journal_undo(const struct journal_entries *e, size_t from, journal_report_fn report,
                 void *opaque, struct vmrun_error *err);

/* Undo everything in the journal at path, then delete it. */
int journal_recover(const char *path, journal_report_fn report, void *opaque,
                    struct vmrun_error *err);

#endif
