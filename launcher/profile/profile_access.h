/* The "access" section: which users and groups may start a VM through
 * sudo or pkexec (priv/access.h applies it). */
#ifndef VMRUN_PROFILE_ACCESS_H
#define VMRUN_PROFILE_ACCESS_H

#include <cjson/cJSON.h>

#include "profile/profile.h"
#include "profile/profile_json.h"

/* Parse root's "access" member into p->access (absent: p->access.present
 * false). Problems go to pj. */
void profile_parse_access(struct pj *pj, const cJSON *root, struct vm_profile *p);

#endif
