/* The registry of journaled operations: each host-resource module exports
 * a table of the operations it records, terminated by {NULL}; recover looks
 * ops up here by the name stored in the journal. Every table is referenced
 * by its strong symbol, so a module left out of the build fails the link
 * instead of leaving `vmrun recover` unable to undo its changes. */
#include "plan/undo.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "host/cpu/cpu_prep.h"
#include "host/display/display.h"
#include "host/input/input.h"
#include "host/memory/memory_prep.h"
#include "host/net/tap.h"
#include "host/pci/pci_bind.h"
#include "host/pci/pci_health.h"
#include "host/tpm/tpm.h"
#include "host/usb/usb_give.h"
#include "journal/journal.h"
#include "priv/priv_handover.h"

const struct journal_op *journal_find_op(const char *name)
{
    const struct journal_op *const tables[] = {
        display_journal_ops,
        pci_journal_ops,
        pci_health_journal_ops,
        memory_journal_ops,
        cpu_journal_ops,
        priv_journal_ops,
        tpm_journal_ops,
        net_journal_ops,
        usb_journal_ops,
        input_journal_ops,
    };
    for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
        for (const struct journal_op *op = tables[t]; op->name != NULL; op++)
            if (strcmp(op->name, name) == 0)
                return op;
    return NULL;
}

int journal_undo(const struct journal_entries *e, size_t from, journal_report_fn report,
                 void *opaque, struct vmrun_error *err)
{
    int first = 0;
    for (size_t i = e->n; i-- > from;) {
        const struct journal_entry *ent = &e->items[i];
        const struct journal_op *op = journal_find_op(ent->op);
        char what[512];
        struct vmrun_error one = {0};
        int r;
        if (op == NULL) {
            snprintf(what, sizeof(what), "%s", ent->op);
            r = vmrun_failx(&one, ENOTSUP, "unknown journal operation '%s'", ent->op);
        } else {
            if (op->describe != NULL)
                op->describe(ent->args, what, sizeof(what));
            else
                snprintf(what, sizeof(what), "%s", ent->op);
            r = op->undo(ent->args, &one);
        }
        /* A success may carry a note (a device that needed a rescan):
         * a message with no error code, reported with the step. */
        bool note = r == 0 && one.code == 0 && one.msg[0] != '\0';
        if (report != NULL)
            report(opaque, ent, what, r, r < 0 || note ? one.msg : NULL);
        if (r < 0 && first == 0) {
            first = r;
            if (err != NULL)
                *err = one;
        }
    }
    return first;
}

int journal_recover(const char *path, journal_report_fn report, void *opaque,
                    struct vmrun_error *err)
{
    struct journal_entries e;
    int r = journal_load(path, &e, err);
    if (r < 0)
        return r;
    r = journal_undo(&e, 0, report, opaque, err);
    journal_entries_free(&e);
    /* The journal stays when an undo failed, so a later recover can retry
     * what is still left (every undo is idempotent). */
    if (r == 0 && unlink(path) < 0 && errno != ENOENT)
        return vmrun_fail(err, errno, "remove journal %s", path);
    return r;
}
