/* Handing the files QEMU opens by path over to QEMU's user for the VM's
 * life.
 *
 * QEMU runs without privileges (priv_drop.h). Most files reach it as
 * fds (qemu/cmdline.h, priv/priv_files.h) and are never chowned. What QEMU
 * 7.2 can only open by path is handed over: /dev/vfio/N, a Looking Glass
 * /dev/kvmfr0, vmrun's own guest memory file, and, only until QEMU has
 * opened it, the event node of the virtual input device vmrun makes for
 * each input[] entry (host/input/input.h; the physical devices a profile
 * names are never handed over). Each is resolved by the root-controlled walk (sys/safepath.h), its
 * kind checked on that fd (a character device of the vfio, input or kvmfr
 * driver; a regular file of vmrun's), and a path someone else controls is
 * refused; a file QEMU's user can already use with its own groups is left
 * alone.
 *
 * The rules for every device node handed to QEMU's user (new hand-overs,
 * USB and input included, follow them):
 *   1. Prefer a descriptor: where QEMU takes an fd (or vmrun can open the
 *      node and pass it, as for taps and disks), nothing on the node
 *      changes at all.
 *   2. Otherwise access is granted by one POSIX ACL entry for QEMU's uid
 *      (priv/priv_acl.h), never by chown: the node keeps its owner, so
 *      QEMU's user can neither chmod it nor add ACL entries of their own
 *      (a user who owned a keyboard's node could make it 0666, a keylogger
 *      for everyone, until reboot). Only where the file system has no ACLs
 *      (hugetlbfs, for vmrun's own memory file) does the file change
 *      owner.
 *   3. Before the change the journal ("chown") records the node's path,
 *      device and inode, owner, group, mode and ACL bytes; the undo puts
 *      back exactly those, on that same inode only (a node made anew since
 *      is the kernel's), mode and ACL through the descriptor's /proc link
 *      so that a device is never opened to be restored.
 *   4. Nothing handed over may outlive the VM: whatever QEMU's user did to
 *      it meanwhile, after the undo its access is what it was before.
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
 * fills hp->qemu_uid/qemu_gid, makes the VM's user directory when the
 * profile needs one (priv/user_dir.h: console sockets, Looking Glass
 * memory), and when QEMU is not vmrun itself hands over /dev/vfio/N for
 * hp->vfio_groups, hp->memory_file, the profile's evdev inputs and Looking
 * Glass device; checks /dev/kvm (KVM guests). */
int priv_prepare(struct host_prep *hp, struct vmrun_error *err);

/* Hand the event node of one of vmrun's virtual input devices over to
 * QEMU's user (hp->qemu_uid), journaled as op "chown" like the others;
 * *record gets a copy of the journal record's arguments (NULL when nothing
 * was handed over: QEMU keeps vmrun's uid, or can already open it), which
 * priv_chown_undo() takes to give the node back as soon as QEMU has opened
 * it. The caller frees *record. */
int priv_handover_node(struct host_prep *hp, const char *what, const char *path,
                       cJSON **record, struct vmrun_error *err);

/* What handover_one() accepts. */
enum handover_kind {
    HANDOVER_OWN_FILE,   /* a regular file vmrun made */
    HANDOVER_EVDEV,      /* an input event device */
    HANDOVER_VFIO_GROUP, /* /dev/vfio/N */
    HANDOVER_KVMFR,      /* a Looking Glass kvmfr device */
};

/* Hand more of vmrun's own regular files over to
 * hp->qemu_uid:hp->qemu_gid: each must exist on a root-controlled path.
 * Does nothing when QEMU keeps vmrun's own uid. */
int priv_handover(struct host_prep *hp, const char *const *paths, size_t n,
                  struct vmrun_error *err);

/* The journal op "chown" (rule 3 above; its name is kept from when every
 * hand-over was one) and its table for plan/undo.c. */
int priv_chown_undo(const cJSON *args, struct vmrun_error *err);
extern const struct journal_op priv_journal_ops[];

#endif
