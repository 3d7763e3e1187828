/* The contract of a host-preparation step: the context every step of the
 * plan (plan/hostprep.h) receives, fills and reports through.
 *
 * A step is one module's prepare function (host/pci, host/memory, host/cpu,
 * priv/priv_handover, ...). It journals every change before making it
 * (journal.h), so when a step fails the plan undoes everything recorded so
 * far, that step's own partial changes included. Steps never print: they
 * tell the user what they do through host_prep_say(). */
#ifndef VMRUN_STEP_H
#define VMRUN_STEP_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/error.h"
#include "journal/journal.h"
#include "profile/profile.h"

struct host_prep {
    /* In */
    const struct vm_profile *profile;
    struct journal *journal;
    const char *runtime_dir;
    bool force;       /* --force: override only checks whose failure cannot lose data */
    bool interactive; /* stderr is a terminal: progress bars allowed */
    /* The user whose graphical session the display handoff stops units of
     * (handoff.session_units): who started vmrun through sudo/pkexec, or
     * run_as; NULL when there is none. */
    const char *session_user;

    /* Messages for the user (status lines, warnings). Library code never
     * prints; it calls this. May be NULL. */
    void (*say)(void *opaque, const char *msg);
    void *say_opaque;

    /* Out, filled by the steps */
    int numa_node;              /* node the guest memory lives on; -1 none */
    char memory_file[PATH_MAX]; /* hugetlbfs file for QEMU; "" = plain RAM */
    unsigned memory_page_kb;    /* the hugepage size used (memory.hugepages may list two) */
    unsigned vfio_groups[64];   /* IOMMU groups now on vfio-pci: /dev/vfio/N */
    size_t n_vfio_groups;
    uid_t qemu_uid; /* who QEMU runs as (0 = root) */
    gid_t qemu_gid;
};

/* printf-style helper for steps: formats and calls hp->say when set. */
void host_prep_say(const struct host_prep *hp, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
