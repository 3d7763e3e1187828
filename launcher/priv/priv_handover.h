/* Handing the files QEMU must open over to QEMU's user for the VM's life.
 *
 * QEMU runs without privileges (priv_drop.h), yet must open what vmrun
 * prepared as root: /dev/vfio/N, the hugetlbfs memory file, the per-VM OVMF
 * vars copy, evdev devices, a Looking Glass /dev/kvmfr0, disks, and create
 * its QMP socket. Each such file is chowned to QEMU's uid:gid, journaled
 * first as op "chown" with the previous owner, group and mode; the undo
 * restores them (idempotent; a file that is gone is fine). A file QEMU's
 * user can already use with its own groups is left alone.
 *
 * The runtime directory stays root's and 0700: QEMU needs nothing in it
 * (its QMP connection is an inherited socket, qemu/qemu_fds.h).
 *
 * Every path is also checked to be reachable by QEMU's user (search
 * permission on each directory above it), and the read-only inputs
 * (kernel, initrd, firmware code) readable, so a VM fails here with a
 * sentence instead of in QEMU with "Permission denied". */
#ifndef VMRUN_PRIV_HANDOVER_H
#define VMRUN_PRIV_HANDOVER_H

#include <stddef.h>

#include "base/error.h"
#include "journal/journal.h"
#include "journal/step.h"

/* The plan's last step: resolves who QEMU runs as (priv_resolve_target),
 * fills hp->qemu_uid/qemu_gid, and when that is not vmrun itself hands over
 * /dev/vfio/N for hp->vfio_groups, hp->memory_file, the profile's evdev
 * inputs, Looking Glass device, and disks; checks
 * /dev/kvm (KVM guests) and the read-only inputs. */
int priv_prepare(struct host_prep *hp, struct vmrun_error *err);

/* Hand over more paths to hp->qemu_uid:hp->qemu_gid (the OVMF vars copy,
 * the serial log): each must exist; symlinks are followed and the final
 * file is what changes owner (and what the journal names). Does nothing
 * when QEMU keeps vmrun's own uid. */
int priv_handover(struct host_prep *hp, const char *const *paths, size_t n,
                  struct vmrun_error *err);

/* The journal op "chown" (and its table for journal_ops.c). */
int priv_chown_undo(const cJSON *args, struct vmrun_error *err);
extern const struct journal_op priv_journal_ops[];

#endif
