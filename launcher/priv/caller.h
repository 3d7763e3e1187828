/* Who called vmrun as root, and whether vmrun can believe what its
 * environment says about that.
 *
 * sudo tells vmrun who asked with SUDO_UID, SUDO_GID and SUDO_USER, pkexec
 * with PKEXEC_UID; every decision about the caller (which profiles, whose
 * VMs, who QEMU runs as) rests on them. They are only as good as the rule
 * that let the caller in: a sudoers rule with SETENV (or `sudo -E`, or an
 * env_keep of these names) lets the caller set them, and LD_PRELOAD or
 * LD_LIBRARY_PATH as well, which runs the caller's code as root before
 * vmrun's first instruction. Such a rule hands out root; vmrun cannot undo
 * that, but it refuses to run where it can tell it was given one:
 *
 *   - a name among SUDO_UID, SUDO_GID, SUDO_USER, SUDO_COMMAND and
 *     PKEXEC_UID present twice;
 *   - the process that started vmrun (sudo itself, or the caller's own
 *     process when sudo or pkexec replaced itself with vmrun) running as a
 *     user other than root, while SUDO_UID/PKEXEC_UID is missing, empty or
 *     names someone else;
 *   - for such a caller, any LD_* variable (or another one the C library
 *     takes code or data paths from: GCONV_PATH, LOCPATH, NLSPATH, ...);
 *   - SUDO_USER naming another user than SUDO_UID;
 *   - a caller said to be root (SUDO_UID=0 or empty) while vmrun's parent
 *     is init and its login session belongs to another user
 *     (/proc/self/loginuid): the caller's sudo died before vmrun could
 *     look at it, and vmrun was adopted.
 * When the parent runs as root (root's own shell, a service, run0), what
 * the environment says is root's own word and is believed. */
#ifndef VMRUN_CALLER_H
#define VMRUN_CALLER_H

#include <stdbool.h>
#include <sys/types.h>

#include "base/error.h"

/* What priv_check_caller() looks at besides the environment. */
struct caller_facts {
    uid_t parent_ruid; /* the real uid of the process that started vmrun */
    pid_t parent;
    bool has_loginuid; /* /proc/self/loginuid is set */
    uid_t loginuid;
};

/* The verdict on envp with the facts given (pure, for tests). */
int priv_judge_caller(char *const *envp, const struct caller_facts *f, struct vmrun_error *err);

/* 0 when vmrun may believe its environment (or is not root at all);
 * -EPERM with err saying what gave it away and why it refuses. */
int priv_check_caller(struct vmrun_error *err);

#endif
