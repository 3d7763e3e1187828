/* The registry of journaled operations: each host-resource module exports
 * a table of the operations it records, terminated by {NULL}. recover looks
 * ops up here by the name stored in the journal. The tables are weak so the
 * program links while a module is being written. */
#include <string.h>

#include "journal.h"

extern const struct journal_op pci_journal_ops[] __attribute__((weak));
extern const struct journal_op memory_journal_ops[] __attribute__((weak));
extern const struct journal_op cpu_journal_ops[] __attribute__((weak));
extern const struct journal_op priv_journal_ops[] __attribute__((weak));
extern const struct journal_op runtime_journal_ops[] __attribute__((weak));

const struct journal_op *journal_find_op(const char *name)
{
    const struct journal_op *tables[] = {
        pci_journal_ops, memory_journal_ops, cpu_journal_ops, priv_journal_ops, runtime_journal_ops,
    };
    for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
        if (tables[t] == NULL)
            continue;
        for (const struct journal_op *op = tables[t]; op->name != NULL; op++)
            if (strcmp(op->name, name) == 0)
                return op;
    }
    return NULL;
}
