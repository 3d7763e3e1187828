/* Profile trust (trust.h), on the root-controlled walk of sys/safepath.h. */
#include "priv/trust.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sys/hostpath.h"
#include "sys/safepath.h"

enum trust_mode trust_mode(void)
{
    if (geteuid() != 0)
        return TRUST_NONE;
    if (getuid() == 0) {
        const char *s = getenv("SUDO_UID");
        const char *k = getenv("PKEXEC_UID");
        if ((s != NULL && *s != '\0' && strcmp(s, "0") != 0) ||
            (k != NULL && *k != '\0' && strcmp(k, "0") != 0))
            return TRUST_DELEGATED;
        return TRUST_ROOT;
    }
    /* A set-uid vmrun (not how it is installed, but then the caller is
     * certainly someone else). */
    return TRUST_DELEGATED;
}

/* The root-controlled walk of path and its checks; sp holds its fd. */
static int check_walk(const char *path, struct safe_path *sp, struct vmrun_error *err)
{
    if (path == NULL || *path == '\0')
        return vmrun_failx(err, EINVAL, "empty path");
    char abs[PATH_MAX];
    if (path[0] == '/') {
        if (snprintf(abs, sizeof(abs), "%s", path) >= (int)sizeof(abs))
            return vmrun_failx(err, ENAMETOOLONG, "path too long: %s", path);
    } else {
        /* getcwd fails for a directory outside this mount namespace's
         * tree (one received from another namespace): such a path means
         * nothing here. */
        char cwd[PATH_MAX];
        if (getcwd(cwd, sizeof(cwd)) == NULL)
            return vmrun_fail(err, errno, "the current directory");
        if (snprintf(abs, sizeof(abs), "%s/%s", cwd, path) >= (int)sizeof(abs))
            return vmrun_failx(err, ENAMETOOLONG, "path too long: %s", path);
    }
    int r = safe_resolve(abs, sp, err);
    if (r < 0)
        return r;
    if (!sp->root_controlled)
        return vmrun_failx(err, EPERM, "%s", sp->why);
    if (S_ISDIR(sp->st.st_mode))
        return vmrun_failx(err, EISDIR, "%s is not a regular file", path);
    if (!S_ISREG(sp->st.st_mode))
        return vmrun_failx(err, EPERM, "%s is not a regular file", path);
    char why[PATH_MAX + 96];
    if (!safe_content_is_roots(&sp->st, abs, why, sizeof(why)))
        return vmrun_failx(err, EPERM, "%s", why);
    return 0;
}

int trust_check_path(const char *path, struct vmrun_error *err)
{
    cleanup_safe_path struct safe_path sp = {.fd = -1};
    return check_walk(path, &sp, err);
}

int trust_check_delegated(const char *path, struct vmrun_error *err)
{
    cleanup_safe_path struct safe_path sp = {.fd = -1};
    int r = check_walk(path, &sp, err);
    return r < 0 ? r : trust_check_place(sp.fd, TRUST_DELEGATED, path, err);
}

/* Is path (canonical) dir itself or inside it? dir is compared as given
 * and as its own canonical path. */
static bool inside(const char *path, const char *dir)
{
    char real[PATH_MAX];
    const char *forms[] = {dir, realpath(dir, real) != NULL ? real : dir};
    for (size_t i = 0; i < 2; i++) {
        size_t n = strlen(forms[i]);
        while (n > 1 && forms[i][n - 1] == '/')
            n--;
        if (n > 0 && strncmp(path, forms[i], n) == 0 && (path[n] == '\0' || path[n] == '/'))
            return true;
    }
    return false;
}

int trust_check_place(int fd, enum trust_mode mode, const char *path, struct vmrun_error *err)
{
    char self[64], real[PATH_MAX];
    snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(self, real, sizeof(real) - 1);
    if (n <= 0 || real[0] != '/')
        return vmrun_fail(err, n < 0 ? errno : ENOENT, "where the profile %s is", path);
    real[n] = '\0';
    const enum host_root own[] = {HOST_RUN, HOST_STATE};
    for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
        if (inside(real, host_root(own[i])))
            return vmrun_failx(err, EPERM,
                               "%s is a file of vmrun's own directory %s, where QEMU, the guest "
                               "and the runs of a VM write (serial log, UEFI variables, logs): "
                               "nothing there is ever a profile",
                               real, host_root(own[i]));
    if (mode == TRUST_DELEGATED && !inside(real, TRUST_PROFILE_DIR))
        return vmrun_failx(err, EPERM,
                           "%s is not under %s, the only place profiles started through sudo or "
                           "pkexec come from (root owns many files whose content others wrote)",
                           real, TRUST_PROFILE_DIR);
    return 0;
}

int trust_check_binary(const char *profile_path, const struct vm_profile *p,
                       struct vmrun_error *err)
{
    if (geteuid() != 0 || p == NULL || p->qemu.binary == NULL || strchr(p->qemu.binary, '/') == NULL)
        return 0;
    struct vmrun_error why = {0};
    int r = trust_check_path(p->qemu.binary, &why);
    if (r < 0)
        return vmrun_failx(err, r == -ENOENT ? ENOENT : EPERM,
                           "profile %s: qemu.binary: refusing %s: %s (the QEMU binary must be "
                           "owned by root and writable only by root, in root-owned directories)",
                           profile_path, p->qemu.binary, why.msg);
    return 0;
}
