/* Who may use which VM through sudo or pkexec.
 *
 * Starting: a profile's "access" lists the users and groups who may start
 * it through sudo or pkexec. Without "access", whoever may run vmrun as
 * root at all may start it: the sudoers or polkit rule is the gate, as it
 * was. Root itself, and an ordinary user running vmrun without
 * privileges, are never refused (the latter lends nothing).
 *
 * Stopping and recovering: the supervisor records who started a VM
 * (runtime.h's started_by: the sudo/pkexec caller, else its own uid).
 * Through sudo or pkexec, `vmrun stop` and `vmrun recover` act only on VMs
 * that caller started; root may stop and recover any. */
#ifndef VMRUN_ACCESS_H
#define VMRUN_ACCESS_H

#include <stdbool.h>
#include <sys/types.h>

#include "base/error.h"
#include "profile/profile.h"

/* 0 when the caller may start p; -EACCES with err saying who may. */
int priv_check_access(const struct vm_profile *p, struct vmrun_error *err);

/* The uid a VM started now is recorded as started by. */
uid_t priv_starter_uid(void);

/* 0 when the caller may stop or recover a VM started by uid (known false:
 * the record is missing); -EPERM with err naming the VM otherwise. */
int priv_check_manage(const char *name, bool known, uid_t starter, struct vmrun_error *err);

#endif
