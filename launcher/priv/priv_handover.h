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
 * driver; a regular file of vmrun's), and that fd is chowned to QEMU's
 * uid:gid, journaled first as op "chown" with the previous owner, group,
 * mode and inode; the undo restores them on the same inode (idempotent; a
 * file that is gone is fine). A path someone else controls is refused, and
 * a file QEMU's user can already use with its own groups is left alone.
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

/* The Looking Glass shared-memory file of looking_glass.device "shm" (NAME
 * is the VM's). vmrun creates it itself, before QEMU starts: exclusively
 * (O_CREAT|O_EXCL|O_NOFOLLOW, in /dev/shm opened by the root-controlled
 * walk), owned by QEMU's user, mode 0600 (the Looking Glass client runs as
 * that same user), journaled as op "lgshm" and removed after the VM (the
 * same inode only). A file already there is used only when it is a regular
 * file of QEMU's user's (theirs to begin with: it is then left in place);
 * anything else there (another user's file, root's, a link) is refused. */
#define LOOKING_GLASS_SHM_DIR "/dev/shm"
#define LOOKING_GLASS_SHM_PREFIX "looking-glass-"

/* The plan's last step: resolves who QEMU runs as (priv_resolve_target),
 * fills hp->qemu_uid/qemu_gid, and when that is not vmrun itself hands over
 * /dev/vfio/N for hp->vfio_groups, hp->memory_file, the profile's evdev
 * inputs and Looking Glass device; creates the Looking Glass shared-memory
 * file (above); checks /dev/kvm (KVM guests). */
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

/* The journal op "chown" (and its table for journal_ops.c). */
int priv_chown_undo(const cJSON *args, struct vmrun_error *err);
extern const struct journal_op priv_journal_ops[];

#endif
