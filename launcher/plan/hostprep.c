/* The ordered host-preparation plan (hostprep.h). */
#include "plan/hostprep.h"
#include "plan/undo.h"

#include <stdio.h>
#include <string.h>

#include "host/cpu/cpu_prep.h"
#include "host/display/display.h"
#include "host/memory/memory_prep.h"
#include "host/pci/pci_bind.h"
#include "priv/priv_handover.h"

struct undo_reporter {
    void (*say)(void *, const char *);
    void *opaque;
    char *left; /* the steps that failed, "; "-separated; NULL: not kept */
    size_t left_len;
};

static void report_undo(void *opaque, const struct journal_entry *e, const char *what, int result,
                        const char *errmsg)
{
    struct undo_reporter *u = opaque;
    if (result != 0 && u->left != NULL) {
        size_t n = strnlen(u->left, u->left_len);
        if (n + 1 < u->left_len)
            snprintf(u->left + n, u->left_len - n, "%s%s (undo %u: %s)", n > 0 ? "; " : "", what,
                     e->seq, errmsg != NULL ? errmsg : "unknown error");
    }
    if (u->say == NULL)
        return;
    char msg[1024];
    if (result == 0 && errmsg != NULL)
        snprintf(msg, sizeof(msg), "undo %u: %s: done (%s)", e->seq, what, errmsg);
    else if (result == 0)
        snprintf(msg, sizeof(msg), "undo %u: %s: done", e->seq, what);
    else
        snprintf(msg, sizeof(msg), "undo %u: %s: FAILED: %s", e->seq, what,
                 errmsg != NULL ? errmsg : "unknown error");
    u->say(u->opaque, msg);
}

int host_prep_undo(const char *journal_path, void (*say)(void *, const char *), void *opaque,
                   struct vmrun_error *err)
{
    return host_prep_undo_left(journal_path, say, opaque, NULL, 0, err);
}

int host_prep_undo_left(const char *journal_path, void (*say)(void *, const char *), void *opaque,
                        char *left, size_t left_len, struct vmrun_error *err)
{
    struct undo_reporter u = {say, opaque, left, left_len};
    if (left != NULL && left_len > 0)
        left[0] = '\0';
    return journal_recover(journal_path, report_undo, &u, err);
}

int host_prep_run(struct host_prep *hp, struct vmrun_error *err)
{
    static const struct {
        const char *name;
        int (*fn)(struct host_prep *, struct vmrun_error *);
    } steps[] = {
        /* What the host cannot do is refused before anything changes,
         * the display manager included. */
        {"checking the PCI devices", pci_precheck},
        /* The display manager and the consoles let go of the GPU before
         * its drivers are unbound. */
        {"the host display (handoff)", display_prepare},
        {"PCI devices to vfio-pci", pci_prepare},
        {"guest memory", memory_prepare},
        {"host CPUs", cpu_prepare},
        /* Last: it hands over what the steps above made (vfio groups,
         * the memory file) to the user QEMU runs as. */
        {"files for QEMU's user", priv_prepare},
    };
    hp->numa_node = -1;
    hp->memory_file[0] = '\0';
    hp->n_vfio_groups = 0;

    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        int r = steps[i].fn(hp, err);
        if (r == 0)
            continue;
        host_prep_say(hp, "preparing the host failed at step %zu (%s): %s", i + 1, steps[i].name,
                      err->msg);
        host_prep_say(hp, "putting the host back as it was");
        struct vmrun_error uerr = {0};
        journal_close(hp->journal);
        if (host_prep_undo(hp->journal->path, hp->say, hp->say_opaque, &uerr) < 0)
            host_prep_say(hp, "could not undo everything: %s (run 'vmrun recover %s')", uerr.msg,
                          hp->profile->name);
        return r;
    }
    return 0;
}
