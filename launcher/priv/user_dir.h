/* The VM's user directory: <run root>/.user/NAME (/run/vmrun/.user/NAME),
 * where QEMU's user keeps, for the VM's life, what only they may reach:
 * the VNC or SPICE socket of "display" "vnc" or "spice" (vnc.sock,
 * spice.sock) and the Looking Glass shared memory of looking_glass.device
 * "shm" (looking-glass), each made by QEMU itself, as that user.
 *
 * Why a directory of QEMU's user's, in one of root's:
 *   - a console on 127.0.0.1 without a password (what QEMU offers with no
 *     secret to hand out) lets every local user watch and type into the
 *     guest; a socket in a directory only QEMU's user can enter lets
 *     nobody else connect;
 *   - a name in a directory everyone may write (/dev/shm/looking-glass-
 *     NAME) can be taken first by anyone, and the VM can never start
 *     again; nobody but root can make a name in .user (root's, 0711), and
 *     nobody but QEMU's user a name in NAME.
 * vmrun makes NAME afresh for each run (whatever a crash left there is
 * removed first), owned by QEMU's user and mode 0700 (root's when QEMU is
 * root's), journaled first ("user-dir"); the undo removes it and all in
 * it, never following a link. */
#ifndef VMRUN_USER_DIR_H
#define VMRUN_USER_DIR_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "base/error.h"
#include "journal/journal.h"
#include "journal/step.h"
#include "profile/profile.h"

#define VM_USER_DIR ".user"
#define VM_USER_DIR_VNC "vnc.sock"
#define VM_USER_DIR_SPICE "spice.sock"
#define VM_USER_DIR_LOOKING_GLASS "looking-glass"

/* Does the profile need the directory? (Inline, as the next one: the
 * pure command-line builder uses them too.) */
static inline bool user_dir_needed(const struct vm_profile *p)
{
    return p->display == VM_DISPLAY_VNC || p->display == VM_DISPLAY_SPICE ||
           (p->looking_glass.present && p->looking_glass.device != NULL &&
            strcmp(p->looking_glass.device, "shm") == 0);
}

/* <run_root>/.user/name into buf: 0 or -ENAMETOOLONG. */
static inline int user_dir_path(char *buf, size_t len, const char *run_root, const char *name)
{
    int n = snprintf(buf, len, "%s/" VM_USER_DIR "/%s", run_root, name);
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Make the directory for uid:gid (a plan step's part: priv_prepare). */
int user_dir_prepare(struct host_prep *hp, uid_t uid, gid_t gid, struct vmrun_error *err);

/* The journal op "user-dir". */
int user_dir_undo(const cJSON *args, struct vmrun_error *err);
void user_dir_describe(const cJSON *args, char *buf, size_t len);

#endif
