/* Who may use which VM (access.h). */
#include "priv/access.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/text.h"
#include "priv/priv_drop.h"
#include "priv/trust.h"

int priv_check_access(const struct vm_profile *p, struct vmrun_error *err)
{
    uid_t uid;
    gid_t gid;
    if (!p->access.present || trust_mode() != TRUST_DELEGATED || priv_invoking_user(&uid, &gid) < 0)
        return 0;
    struct passwd *pw = getpwuid(uid);
    if (pw != NULL)
        for (size_t i = 0; i < p->access.n_users; i++)
            if (strcmp(p->access.users[i], pw->pw_name) == 0)
                return 0;
    gid_t groups[256];
    int n = (int)(sizeof(groups) / sizeof(groups[0]));
    if (pw == NULL || getgrouplist(pw->pw_name, gid, groups, &n) < 0) {
        groups[0] = gid;
        n = 1;
    }
    for (int k = 0; k < n; k++) {
        struct group *g = getgrgid(groups[k]);
        if (g == NULL)
            continue;
        for (size_t i = 0; i < p->access.n_groups; i++)
            if (strcmp(p->access.groups[i], g->gr_name) == 0)
                return 0;
    }
    char who[64];
    text_user(uid, who, sizeof(who));
    return vmrun_failx(err, EACCES,
                       "'%s' may be started through sudo or pkexec only by the users and groups "
                       "its profile's \"access\" lists, and %s is not one of them",
                       p->name, who);
}

uid_t priv_starter_uid(void)
{
    uid_t uid;
    gid_t gid;
    if (priv_invoking_user(&uid, &gid) == 0)
        return uid;
    return getuid();
}

int priv_check_manage(const char *name, bool known, uid_t starter, struct vmrun_error *err)
{
    uid_t uid;
    gid_t gid;
    if (trust_mode() != TRUST_DELEGATED || priv_invoking_user(&uid, &gid) < 0)
        return 0;
    if (known && starter == uid)
        return 0;
    if (!known)
        return vmrun_failx(err, EPERM,
                           "'%s' has no record of who started it: only root may stop or "
                           "recover it",
                           name);
    char who[64];
    text_user(starter, who, sizeof(who));
    return vmrun_failx(err, EPERM,
                       "'%s' was started by %s: through sudo or pkexec only they may stop or "
                       "recover it (root may, directly)",
                       name, who);
}
