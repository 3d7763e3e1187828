/* QEMU's files on the host, made ready before QEMU starts: where they go
 * (the runtime directory for what lives as long as the run, the state
 * directory for what outlives it), the VM's own UEFI variable store (made
 * once from the firmware's template, then kept, so the guest's boot entries
 * survive), and every file QEMU inherits as an fd (cmdline.h), opened with
 * the rights its path deserves (priv/priv_files.h). */
#ifndef VMRUN_QEMU_FILES_H
#define VMRUN_QEMU_FILES_H

#include "base/error.h"
#include "priv/priv_drop.h"
#include "profile/profile.h"
#include "qemu/cmdline.h"
#include "qemu/firmware.h"
#include "qemu/qemu_fds.h"

struct qemu_files_ctx {
    const struct vm_profile *p;
    const struct priv_target *target;           /* who QEMU runs as (NULL: vmrun itself) */
    const struct firmware_choice *fw;           /* the firmware chosen (firmware_choose()) */
    const char *runtime_dir;                    /* the VM's runtime directory */
    const char *memory_file;                    /* the hugepage file, or NULL for plain RAM */
    void (*say)(void *opaque, const char *msg); /* status lines, or NULL */
    void *say_opaque;
};

/* Make the state directory of VM name (/var/lib/vmrun/NAME, root's, 0711)
 * if it is not there, its path into dir. 0 or a negative errno with err. */
int qemu_state_dir_make(const char *name, char *dir, size_t len, struct vmrun_error *err);

/* Lay out h (vm_host_facts_default() and the firmware, into st) as `vmrun
 * print-cmd` shows it, make the state directory (0711: QEMU's user reaches
 * the files handed to it there, and can list or add none), probe QEMU's
 * sandbox, and make the VM's UEFI variable store when it has none yet,
 * saying so (and saying when the store kept from earlier runs no longer
 * holds the keys the profile asks for). 0 or a negative errno with err. */
int qemu_files_prepare(const struct qemu_files_ctx *c, struct vm_host_facts *h,
                       struct vm_host_facts_storage *st, struct vmrun_error *err);

/* Open every file of h->files into fds, in the order of their numbers: a
 * path the profile names with the rights it deserves (and a qcow2 disk
 * whose relative backing file QEMU could not find refused), vmrun's own
 * files by vmrun, never through a link. 0 or a negative errno with err. */
int qemu_files_open(const struct qemu_files_ctx *c, const struct vm_host_facts *h,
                    struct qemu_fds *fds, struct vmrun_error *err);

#endif
