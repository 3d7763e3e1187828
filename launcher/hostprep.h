/* Host preparation: one ordered plan of steps, each a module's prepare
 * function that journals every change before making it (journal.h). The
 * plan runs the steps in order; when step k fails, everything recorded so
 * far (including step k's own partial changes) is undone in reverse order
 * from the journal, so the host is left exactly as it was.
 *
 * Order (hostprep.c):  vfio binding -> hugepages (reserve, file, prefault)
 *                      -> CPU governor -> host isolation -> ownership handover
 */
#ifndef VMRUN_HOSTPREP_H
#define VMRUN_HOSTPREP_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"
#include "journal.h"
#include "profile.h"

struct host_prep {
    /* In */
    const struct vm_profile *profile;
    struct journal *journal;
    const char *runtime_dir;
    bool force;       /* --force: override only checks whose failure cannot lose data */
    bool interactive; /* stderr is a terminal: progress bars allowed */

    /* Messages for the user (status lines, warnings). Library code never
     * prints; it calls this. May be NULL. */
    void (*say)(void *opaque, const char *msg);
    void *say_opaque;

    /* Out, filled by the steps */
    int numa_node;              /* node the guest memory lives on; -1 none */
    char memory_file[PATH_MAX]; /* hugetlbfs file for QEMU; "" = plain RAM */
    unsigned vfio_groups[64];   /* IOMMU groups now on vfio-pci: /dev/vfio/N */
    size_t n_vfio_groups;
    uid_t qemu_uid; /* who QEMU runs as (0 = root) */
    gid_t qemu_gid;
};

/* printf-style helper for steps: formats and calls hp->say when set. */
void host_prep_say(const struct host_prep *hp, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The steps, each in its module. Each journals every change before making
 * it and returns 0 or a negative errno with err set. */
int pci_prepare(struct host_prep *hp, struct vmrun_error *err);    /* pci_bind.c */
int memory_prepare(struct host_prep *hp, struct vmrun_error *err); /* hugepages.c */
int cpu_prepare(struct host_prep *hp, struct vmrun_error *err);    /* governor.c */
int priv_prepare(struct host_prep *hp, struct vmrun_error *err);   /* priv_handover.c */

/* Run the plan. On failure everything the journal lists is undone (in
 * reverse, reported through hp->say) before returning the step's error. */
int host_prep_run(struct host_prep *hp, struct vmrun_error *err);

/* Undo everything the journal lists (normal stop or recovery), reporting
 * each step through say. The journal file is removed when all succeeded. */
int host_prep_undo(const char *journal_path, void (*say)(void *, const char *), void *opaque,
                   struct vmrun_error *err);
#endif
