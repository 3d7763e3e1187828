#include "sys/hostpath.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sys/seams.h"

const char *host_root(enum host_root root)
{
    enum seam seam = SEAM_SYSFS_ROOT;
    const char *def = NULL;
    switch (root) {
    case HOST_SYS:
        seam = SEAM_SYSFS_ROOT;
        def = VMRUN_DEFAULT_SYSFS_ROOT;
        break;
    case HOST_PROC:
        seam = SEAM_PROCFS_ROOT;
        def = VMRUN_DEFAULT_PROCFS_ROOT;
        break;
    case HOST_DEV:
        seam = SEAM_DEV_ROOT;
        def = VMRUN_DEFAULT_DEV_ROOT;
        break;
    case HOST_RUN:
        seam = SEAM_RUN_DIR;
        def = VMRUN_DEFAULT_RUN_DIR;
        break;
    case HOST_STATE:
        seam = SEAM_STATE_DIR;
        def = VMRUN_DEFAULT_STATE_DIR;
        break;
    }
    const char *v = seam_value(seam);
    if (v != NULL && v[0] == '/')
        return v;
    if (root == HOST_RUN && geteuid() != 0) {
        /* An ordinary user (a VM that needs no host changes, such as the
         * demo) keeps its runtime directories in its own runtime dir. */
        static char user_run[PATH_MAX];
        const char *xdg = getenv("XDG_RUNTIME_DIR");
        if (xdg != NULL && xdg[0] == '/')
            snprintf(user_run, sizeof(user_run), "%s/vmrun", xdg);
        else
            snprintf(user_run, sizeof(user_run), "/tmp/vmrun-%u", (unsigned)geteuid());
        return user_run;
    }
    if (root == HOST_STATE && geteuid() != 0) {
        static char user_state[PATH_MAX];
        const char *xdg = getenv("XDG_STATE_HOME");
        const char *home = getenv("HOME");
        if (xdg != NULL && xdg[0] == '/')
            snprintf(user_state, sizeof(user_state), "%s/vmrun", xdg);
        else if (home != NULL && home[0] == '/')
            snprintf(user_state, sizeof(user_state), "%s/.local/state/vmrun", home);
        else
            snprintf(user_state, sizeof(user_state), "/tmp/vmrun-state-%u", (unsigned)geteuid());
        return user_state;
    }
    return def;
}

int host_path(char *buf, size_t len, enum host_root root, const char *fmt, ...)
{
    const char *base = host_root(root);
    size_t blen = strlen(base);
    while (blen > 1 && base[blen - 1] == '/')
        blen--;
    if (blen + 1 > len)
        return -ENAMETOOLONG;
    memcpy(buf, base, blen);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + blen, len - blen, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= len - blen)
        return -ENAMETOOLONG;
    return 0;
}
