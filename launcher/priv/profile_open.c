/* One profile, one fd (profile_open.h). */
#include "priv/profile_open.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "priv/priv_drop.h"
#include "priv/trust.h"
#include "priv/user_open.h"
#include "profile/profile_load.h"
#include "sys/safepath.h"

/* Can the invoking user open path with flags themselves? */
static bool user_can(const struct user_cred *uc, const char *path, int flags)
{
    struct vmrun_error ignored = {0};
    int fd = user_open(uc, path, flags, &ignored);
    if (fd < 0)
        return false;
    close(fd);
    return true;
}

static bool exists_for_user(const char *path, void *opaque)
{
    return user_can(opaque, path, O_PATH);
}

static bool exists_for_root(const char *path, void *opaque)
{
    (void)opaque;
    return access(path, F_OK) == 0;
}

/* The name the refusal suggests: the file's own name without ".json"
 * (never anything read from the file). */
static void suggested_name(const char *path, char *buf, size_t len)
{
    const char *base = strrchr(path, '/');
    base = base != NULL ? base + 1 : path;
    size_t n = strlen(base);
    if (n > 5 && strcmp(base + n - 5, ".json") == 0)
        n -= 5;
    if (n == 0 || n > 64 || strspn(base, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                         "0123456789_.-") < n)
        snprintf(buf, len, "NAME");
    else
        snprintf(buf, len, "%.*s", (int)n, base);
}

static int refuse_as(struct vmrun_error *err, enum trust_mode mode, const char *path,
                     const char *detail, bool vouchable)
{
    char name[80];
    suggested_name(path, name, sizeof(name));
    const char *why = mode == TRUST_DELEGATED
                          ? "vmrun runs as root on behalf of another user (sudo or pkexec)"
                          : "vmrun runs as root and believes only profiles root controls";
    return vmrun_failx(err, EPERM,
                       "refusing profile %s: %s, but %s. Put it where only root can change it: "
                       "%s/%s.json (owned by root, mode 0644, in directories owned by root "
                       "and not writable by others)%s",
                       path, why, detail, TRUST_PROFILE_DIR, name,
                       mode == TRUST_ROOT && vouchable
                           ? "; or, as root, vouch for this file once with --trust-profile"
                           : "");
}

static int refuse(struct vmrun_error *err, enum trust_mode mode, const char *path,
                  const char *detail)
{
    return refuse_as(err, mode, path, detail, true);
}

/* Without a trust check: the caller's own rights, or root vouching. */
static int load_plain(const char *arg, struct vm_profile *out, char *path, size_t len,
                      struct diag_list *diags, struct vmrun_error *err)
{
    int r = profile_resolve(arg, path, len, err);
    if (r < 0)
        return r;
    if (geteuid() == 0) {
        /* Root vouches for a file, but never for one of vmrun's own. */
        cleanup_close int at = open(path, O_PATH | O_CLOEXEC);
        struct vmrun_error perr = {0};
        if (at >= 0 && trust_check_place(at, TRUST_ROOT, path, &perr) < 0)
            return refuse_as(err, TRUST_ROOT, path, perr.msg, false);
    }
    r = profile_load(path, out, diags, err);
    if (r < 0)
        return r;
    if ((r = trust_check_binary(path, out, err)) < 0) {
        profile_free(out);
        return r;
    }
    return 0;
}

int priv_load_profile(const char *arg, const struct profile_open_opts *o, struct vm_profile *out,
                      char *path, size_t len, struct diag_list *diags, struct vmrun_error *err)
{
    memset(out, 0, sizeof(*out));
    char given[PATH_MAX];
    if (path == NULL || len == 0) {
        path = given;
        len = sizeof(given);
    }
    enum trust_mode mode = trust_mode();
    if (o != NULL && o->root_vouches && mode == TRUST_DELEGATED)
        return vmrun_failx(err, EPERM,
                           "--trust-profile is root's to give: through sudo or pkexec vmrun "
                           "believes only profiles root controls (%s/NAME.json)",
                           TRUST_PROFILE_DIR);
    bool vouched = o != NULL && o->root_vouches;
    if (mode == TRUST_NONE || (mode == TRUST_ROOT && vouched))
        return load_plain(arg, out, path, len, diags, err);

    /* Through sudo or pkexec: the invoking user's own rights, to tell what
     * they could see without vmrun. */
    struct user_cred_store me;
    uid_t uid = 0;
    gid_t gid = 0;
    bool delegated = mode == TRUST_DELEGATED && priv_invoking_user(&uid, &gid) == 0;
    if (delegated)
        user_cred_of(uid, gid, &me);
    else
        user_cred_of(geteuid(), getegid(), &me);

    int r = profile_resolve_with(arg, delegated ? exists_for_user : exists_for_root, &me.cred,
                                 path, len, err);
    if (r < 0)
        return r;
    char abs[PATH_MAX];
    if (path[0] == '/') {
        snprintf(abs, sizeof(abs), "%s", path);
    } else {
        char cwd[PATH_MAX];
        if (getcwd(cwd, sizeof(cwd)) == NULL)
            return vmrun_fail(err, errno,
                              "refusing profile %s: the current directory is not one this "
                              "process can name (another mount namespace's?); give the "
                              "profile's absolute path",
                              path);
        if (snprintf(abs, sizeof(abs), "%s/%s", cwd, path) >= (int)sizeof(abs))
            return vmrun_failx(err, ENAMETOOLONG, "%s: the path is too long", path);
    }

    struct vmrun_error werr = {0};
    cleanup_safe_path struct safe_path sp = {.fd = -1};
    r = safe_resolve(abs, &sp, &werr);
    char why[PATH_MAX + 96] = "";
    bool trusted = r == 0 && sp.root_controlled;
    if (trusted && !S_ISREG(sp.st.st_mode)) {
        r = -EINVAL;
        snprintf(werr.msg, sizeof(werr.msg), "the profile %s is not a regular file", path);
    }
    if (r == 0 && trusted && !safe_content_is_roots(&sp.st, abs, why, sizeof(why)))
        trusted = false;
    /* /dev/stdin, /dev/fd/N, /proc/...: refused for what they are,
     * before anything is said about what they lead to. */
    if (r == -ELOOP && strstr(werr.msg, "/proc") != NULL)
        return refuse(err, mode, path, werr.msg);
    /* What the user could not see for themselves stays unsaid. */
    if (delegated && !user_can(&me.cred, abs, O_PATH))
        return vmrun_failx(err, ENOENT,
                           "cannot use the profile %s: it does not exist, or you cannot "
                           "reach it yourself. Profiles for sudo and pkexec live in %s/",
                           path, TRUST_PROFILE_DIR);
    if (r < 0 || !trusted) {
        if (r < 0)
            return vmrun_failx(err, -r, "cannot open the profile %s", werr.msg);
        return refuse(err, mode, path, why[0] ? why : sp.why);
    }

    /* Root-owned is not root-written: vmrun's own files are never
     * profiles, and through sudo or pkexec only /etc/vmrun holds them. */
    struct vmrun_error perr = {0};
    if (trust_check_place(sp.fd, mode, path, &perr) < 0)
        return refuse_as(err, mode, path, perr.msg, false);

    /* Through sudo or pkexec the caller reads the profile themselves: the
     * same file, opened again with their rights, or nothing. */
    cleanup_close int fd = -1;
    if (delegated) {
        struct vmrun_error uerr = {0};
        fd = user_open(&me.cred, abs, O_RDONLY | O_NONBLOCK, &uerr);
        struct stat st;
        if (fd >= 0 && (fstat(fd, &st) < 0 || st.st_dev != sp.st.st_dev ||
                        st.st_ino != sp.st.st_ino))
            return vmrun_failx(err, ESTALE, "refusing profile %s: it changed while it was read",
                               path);
        if (fd < 0)
            return vmrun_failx(err, EACCES,
                               "cannot use the profile %s: you cannot read it yourself, and "
                               "through sudo or pkexec vmrun starts only profiles the caller "
                               "may read (mode 0644, or readable by a group of theirs)",
                               path);
    } else {
        fd = safe_reopen(&sp, O_RDONLY | O_NONBLOCK);
        if (fd < 0)
            return vmrun_fail(err, -fd, "cannot open the profile %s", path);
    }
    cleanup_free char *buf = NULL;
    size_t n = 0;
    if ((r = profile_read_fd(fd, path, &buf, &n, err)) < 0)
        return r;
    struct diag_list mine = {0};
    r = profile_load_bytes(abs, buf, n, out, &mine, err);
    *diags = mine;
    if (r < 0)
        return r;
    /* The absolute path (never printed onto itself: the buffers overlap). */
    if (path[0] != '/')
        snprintf(path, len, "%s", abs);
    if ((r = trust_check_binary(path, out, err)) < 0) {
        profile_free(out);
        return r;
    }
    return 0;
}
