/* Host preparation: one ordered plan of steps (journal/step.h), each a
 * module's prepare function that journals every change before making it.
 * The plan runs the steps in order; when step k fails, everything recorded
 * so far (including step k's own partial changes) is undone in reverse
 * order from the journal, so the host is left exactly as it was.
 *
 * Order (hostprep.c):  display handoff -> vfio binding (with reset method
 *                      and D3cold) -> hugepages (reserve, file, prefault)
 *                      -> CPU governor -> host isolation -> files for
 *                      QEMU's user
 *
 * Every step and every journal op is referenced here and in journal_ops.c
 * by its strong symbol: a module missing from the build is a link error,
 * never a feature that silently does nothing. */
#ifndef VMRUN_HOSTPREP_H
#define VMRUN_HOSTPREP_H

#include "base/error.h"
#include "journal/step.h"

/* Run the plan. On failure everything the journal lists is undone (in
 * reverse, reported through hp->say) before returning the step's error. */
int host_prep_run(struct host_prep *hp, struct vmrun_error *err);

/* Undo everything the journal lists (normal stop or recovery), reporting
 * each step through say. The journal file is removed when all succeeded. */
int host_prep_undo(const char *journal_path, void (*say)(void *, const char *), void *opaque,
                   struct vmrun_error *err);

/* host_prep_undo, also keeping in left (NUL-terminated, cut to left_len)
 * what is left on the host when a step fails: "WHAT (undo N: WHY)" for each
 * step that did not undo, separated by "; ". */
int host_prep_undo_left(const char *journal_path, void (*say)(void *, const char *), void *opaque,
                        char *left, size_t left_len, struct vmrun_error *err);
#endif
